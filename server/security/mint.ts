import { createPrivateKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { AGENT_ID } from '../gateway/auth.js';
import { parseScopeClaim } from './scopes.js';

interface MintOptions {
  /** The agent id the token names. */
  sub: string;
  /** Space-separated scopes, checked here so a typo fails now rather than at the server. */
  scope: string;
  ttlSeconds: number;
  /** HS256 secret, or a PKCS#8 PEM private key with its algorithm. */
  secret?: string | undefined;
  privateKeyPem?: string | undefined;
  alg?: string | undefined;
  kid?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
  /** Seconds since the epoch; defaults to now. */
  now?: number | undefined;
}

/** Signs a token the JWT authenticator accepts. */
export async function mintToken(options: MintOptions): Promise<string> {
  if (!AGENT_ID.test(options.sub)) throw new Error('sub must match [A-Za-z0-9_.:@-]{1,128}');
  if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds <= 0) throw new Error('ttl must be a positive number of seconds');
  const unknown = options.scope.split(/\s+/).filter((s) => s !== '' && parseScopeClaim(s).length === 0);
  if (unknown.length > 0) throw new Error(`not Blackboard scopes: ${unknown.join(' ')}`);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const alg = options.secret !== undefined ? 'HS256' : options.alg;
  if (alg === undefined) throw new Error('a private key needs its algorithm (RS256, ES256, EdDSA, ...)');
  let jwt = new SignJWT({ scope: options.scope })
    .setProtectedHeader(options.kid === undefined ? { alg } : { alg, kid: options.kid })
    .setSubject(options.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + options.ttlSeconds);
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt = jwt.setAudience(options.audience);
  if (options.secret !== undefined) return jwt.sign(new TextEncoder().encode(options.secret));
  if (options.privateKeyPem === undefined) throw new Error('a secret or a private key is needed');
  return jwt.sign(createPrivateKey(options.privateKeyPem));
}
