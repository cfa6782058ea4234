// Prints a token for AUTH_MODE=jwt:
//   npx tsx scripts/mint-token.ts --sub planner --scope "read:proj-*/plan/ write:proj-1" --ttl 3600
// Signs with JWT_SECRET (HS256) from the environment or --secret, or with a PKCS#8 PEM
// private key: --key key.pem --alg RS256 [--kid k1]. --iss and --aud set the issuer and
// audience (JWT_ISSUER / JWT_AUDIENCE are the defaults).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { mintToken } from '../server/security/mint.js';

const USAGE =
  'usage: mint-token --sub <agent> --scope "<scopes>" [--ttl <seconds>] [--secret <s> | --key <pem> --alg <alg> [--kid <id>]] [--iss <i>] [--aud <a>]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      scope: { type: 'string', default: '' },
      ttl: { type: 'string', default: '3600' },
      secret: { type: 'string' },
      key: { type: 'string' },
      alg: { type: 'string' },
      kid: { type: 'string' },
      iss: { type: 'string' },
      aud: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help || values.sub === undefined) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(values.help ? 0 : 2);
  }
  const secret = values.key === undefined ? (values.secret ?? process.env.JWT_SECRET) : undefined;
  if (secret === undefined && values.key === undefined) throw new Error('set JWT_SECRET, or pass --secret or --key');
  const token = await mintToken({
    sub: values.sub,
    scope: values.scope,
    ttlSeconds: Number(values.ttl),
    secret,
    privateKeyPem: values.key === undefined ? undefined : readFileSync(values.key, 'utf8'),
    alg: values.alg,
    kid: values.kid,
    issuer: values.iss ?? process.env.JWT_ISSUER,
    audience: values.aud ?? process.env.JWT_AUDIENCE,
  });
  process.stdout.write(`${token}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`mint-token: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
