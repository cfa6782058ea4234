import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { AGENT_ID, UpgradeRefusal, type Authenticator, type Identity } from '../gateway/auth.js';
import { ScopeError, formatScope, parseScopeClaim } from './scopes.js';

/** Where verification keys come from; exactly one is set. */
interface JwtSettings {
  secret?: string | undefined;
  publicKeyFile?: string | undefined;
  jwksFile?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
}

type VerificationKey = Uint8Array | KeyObject | JWTVerifyGetKey;

/** Asymmetric algorithms only for public keys: a public key must never be usable as an HMAC secret. */
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

function algorithmsFor(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return ['ES256'];
      if (curve === 'secp384r1') return ['ES384'];
      if (curve === 'secp521r1') return ['ES512'];
      break;
    }
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
  }
  throw new Error(`JWT_PUBLIC_KEY_FILE holds a key this server cannot verify with (${key.asymmetricKeyType ?? 'unknown'})`);
}

function readKeyFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${what} ${path} cannot be read: ${(err as Error).message}`);
  }
}

/** The token from `Authorization: Bearer`, else from `?access_token=` (browsers cannot set headers on a WebSocket). */
function bearerToken(req: IncomingMessage, url: URL): string {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw new UpgradeRefusal(401, 'the Authorization header must be "Bearer <token>"');
    return match[1];
  }
  const fromQuery = url.searchParams.get('access_token');
  if (fromQuery === null || fromQuery === '') throw new UpgradeRefusal(401, 'a token is required');
  return fromQuery;
}

/**
 * AUTH_MODE=jwt: a signed JWT (HS256 with JWT_SECRET, or a public key from a PEM or
 * JWKS file) whose `sub` is the agent id, `exp` is required, and `scope` says what the
 * holder may do. Keys are read once, at start; nothing is fetched while serving.
 */
export class JwtAuthenticator implements Authenticator {
  private constructor(
    private readonly key: VerificationKey,
    private readonly algorithms: string[],
    private readonly settings: JwtSettings,
  ) {}

  static fromSettings(settings: JwtSettings): JwtAuthenticator {
    const sources = [settings.secret, settings.publicKeyFile, settings.jwksFile].filter((s) => s !== undefined);
    if (sources.length !== 1) {
      throw new Error('AUTH_MODE=jwt needs exactly one of JWT_SECRET, JWT_PUBLIC_KEY_FILE, JWT_JWKS_FILE');
    }
    if (settings.secret !== undefined) {
      return new JwtAuthenticator(new TextEncoder().encode(settings.secret), ['HS256'], settings);
    }
    if (settings.publicKeyFile !== undefined) {
      const pem = readKeyFile(settings.publicKeyFile, 'JWT_PUBLIC_KEY_FILE');
      let key: KeyObject;
      try {
        key = createPublicKey(pem);
      } catch (err) {
        throw new Error(`JWT_PUBLIC_KEY_FILE ${settings.publicKeyFile} holds no PEM public key or certificate: ${(err as Error).message}`);
      }
      return new JwtAuthenticator(key, algorithmsFor(key), settings);
    }
    const text = readKeyFile(settings.jwksFile!, 'JWT_JWKS_FILE');
    let jwks: JSONWebKeySet;
    try {
      jwks = JSON.parse(text) as JSONWebKeySet;
      if (!Array.isArray(jwks.keys)) throw new Error('no "keys" array');
    } catch (err) {
      throw new Error(`JWT_JWKS_FILE ${settings.jwksFile} is not a JWK set: ${(err as Error).message}`);
    }
    return new JwtAuthenticator(createLocalJWKSet(jwks), ASYMMETRIC, settings);
  }

  async authenticate(req: IncomingMessage, url: URL): Promise<Identity> {
    const token = bearerToken(req, url);
    let payload;
    try {
      const options = {
        algorithms: this.algorithms,
        requiredClaims: ['sub', 'exp'],
        ...(this.settings.issuer !== undefined ? { issuer: this.settings.issuer } : {}),
        ...(this.settings.audience !== undefined ? { audience: this.settings.audience } : {}),
      };
      // Overloads differ by key kind; each branch is the same call.
      ({ payload } = typeof this.key === 'function' ? await jwtVerify(token, this.key, options) : await jwtVerify(token, this.key, options));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new UpgradeRefusal(401, 'token expired');
      if (err instanceof errors.JWTClaimValidationFailed) throw new UpgradeRefusal(401, `token refused: ${err.message}`);
      throw new UpgradeRefusal(401, 'invalid token');
    }
    const sub = payload.sub;
    if (typeof sub !== 'string' || !AGENT_ID.test(sub)) {
      throw new UpgradeRefusal(401, 'token sub must be an agent id matching [A-Za-z0-9_.:@-]{1,128}');
    }
    let scopes;
    try {
      scopes = parseScopeClaim(payload.scope);
    } catch (err) {
      if (err instanceof ScopeError) throw new UpgradeRefusal(401, `token refused: ${err.message}`);
      throw err;
    }
    return { agentId: sub, scopes: scopes.map(formatScope), expiresAt: payload.exp! * 1000 };
  }
}
