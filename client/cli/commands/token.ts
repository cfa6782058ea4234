import { SignJWT } from 'jose';
import { noMorePositionals, stringFlag, stringsFlag } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode, UsageError } from '../exit-codes.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };
const MAX_TTL_SECONDS = 366 * 86_400;
const MIN_SERVER_SECRET = 32;

/** `90`, `90s`, `15m`, `12h`, `7d` → seconds. */
function parseTtl(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text);
  const seconds = m ? Number(m[1]) * UNIT_SECONDS[m[2] || 's']! : NaN;
  if (!(seconds > 0 && seconds <= MAX_TTL_SECONDS)) {
    throw new UsageError(`--ttl must look like 90s, 15m, 12h or 7d (at most 366d), not ${JSON.stringify(text)}`);
  }
  return seconds;
}

export const tokenCommand: Command = {
  name: 'token',
  usage: 'token --sub AGENT [--scope SCOPE ...] [--ttl 1h] [--secret S] [--issuer ISS] [--audience AUD]',
  summary: 'Mint a development JWT (HS256) for AUTH_MODE=jwt; the secret comes from --secret or $JWT_SECRET.',
  details: [
    'Claims: sub (the agent id), scope (the --scope values joined by spaces, as OAuth writes them),',
    'iat and exp (now + --ttl, default 1h), and iss/aud when given. Needs no server.',
    'Use it with: export BLACKBOARD_TOKEN=$(blackboard token --sub alice --scope "read:*" --scope "write:*")',
  ],
  options: {
    sub: { type: 'string' },
    scope: { type: 'string', multiple: true },
    ttl: { type: 'string' },
    secret: { type: 'string' },
    issuer: { type: 'string' },
    audience: { type: 'string' },
  },
  async run(ctx, line) {
    noMorePositionals(line, 0);
    const sub = stringFlag(line, 'sub');
    if (!sub) throw new UsageError('--sub AGENT is required');
    const secret = stringFlag(line, 'secret') ?? process.env.JWT_SECRET;
    if (!secret) throw new UsageError('give the signing secret with --secret or the JWT_SECRET environment variable');
    if (secret.length < MIN_SERVER_SECRET) ctx.out.note(`note: the server refuses a JWT_SECRET shorter than ${MIN_SERVER_SECRET} characters`);
    const ttlSeconds = parseTtl(stringFlag(line, 'ttl') ?? '1h');
    const scopes = stringsFlag(line, 'scope');
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAt = issuedAt + ttlSeconds;
    let jwt = new SignJWT(scopes.length > 0 ? { scope: scopes.join(' ') } : {})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(sub)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt);
    const issuer = stringFlag(line, 'issuer');
    const audience = stringFlag(line, 'audience');
    if (issuer) jwt = jwt.setIssuer(issuer);
    if (audience) jwt = jwt.setAudience(audience);
    const token = await jwt.sign(new TextEncoder().encode(secret));
    ctx.out.result({ token, sub, scopes, expiresAt: expiresAt * 1000 }, () => token);
    return ExitCode.OK;
  },
};
