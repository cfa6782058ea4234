import { z } from 'zod';

/**
 * Every setting the server reads from its environment, validated once and frozen.
 * `docs/configuration.md` documents each entry of `configSchema`; a test keeps the two in step.
 */

const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const configSchema = z.object({
  PORT: int(0, 65_535, 8080).describe('TCP port for HTTP and WebSocket (0 picks a free one).'),
  HOST: z.string().default('0.0.0.0').describe('Interface to listen on.'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379').describe('Redis holding the hot board state.'),
  REDIS_CLUSTER_NODES: z
    .string()
    .optional()
    .describe('Comma-separated host:port seeds of a Redis Cluster; when set, REDIS_URL is not used.'),
  DATABASE_URL: z
    .string()
    .default('postgres://root@127.0.0.1:5432/blackboard')
    .describe('Postgres holding history; the database is created with its migrations on start.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level.'),
  WORKERS: int(1, 64, 1).describe(
    'Node processes sharing the port (node:cluster); each is a full node. Set it to the number of cores to use them all.',
  ),
  NODE_ID: z.string().max(64).optional().describe('Name of this server node (default: host name and pid).'),
  AUTH_MODE: z.enum(['none', 'jwt']).default('none').describe('`none` (development) or `jwt`.'),
  JWT_SECRET: z
    .string()
    .min(32)
    .optional()
    .describe('AUTH_MODE=jwt: HS256 secret (at least 32 characters). Exactly one of the three JWT key settings.'),
  JWT_PUBLIC_KEY_FILE: z
    .string()
    .optional()
    .describe('AUTH_MODE=jwt: PEM file with the public key (or certificate) that verifies RS/PS/ES/EdDSA tokens.'),
  JWT_JWKS_FILE: z.string().optional().describe('AUTH_MODE=jwt: JSON file holding a JWK set; tokens pick their key by `kid`.'),
  JWT_ISSUER: z.string().optional().describe('AUTH_MODE=jwt: when set, tokens must carry this `iss`.'),
  JWT_AUDIENCE: z.string().optional().describe('AUTH_MODE=jwt: when set, tokens must carry this `aud`.'),
  ALLOWED_ORIGINS: z
    .string()
    .optional()
    .describe(
      'Browser origins allowed to open a WebSocket, comma-separated; `*` = every origin, `same-host` = the Host header. Unset: every origin with AUTH_MODE=none, same-host otherwise. Others → 403.',
    ),
  MAX_CONNECTIONS_PER_AGENT: int(0, 1_000_000, 256).describe(
    'WebSocket connections one agent id may hold on this node; more → 429 at the upgrade. 0: no bound.',
  ),
  RATE_LIMIT_RPS: int(0, 1_000_000, 5_000).describe(
    'Requests per second each connection may send (token bucket refill); past it → RATE_LIMITED with `retryAfterMs`. 0: no limit.',
  ),
  RATE_LIMIT_BURST: int(1, 10_000_000, 10_000).describe('Requests a connection may send at once above its steady rate (bucket size).'),
  RATE_LIMIT_CLOSE_AFTER: int(1, 10_000_000, 1_000).describe(
    'Refused requests within 10 s after which the connection is closed with 4029.',
  ),
  HANDSHAKE_TIMEOUT_MS: int(100, 60_000, 10_000).describe(
    'Time a client has to send its request head (a TCP connection idle that long is closed), and then for authentication to finish.',
  ),
  MAX_FRAME_BYTES: int(1_024, 64 * 1024 * 1024, 1024 * 1024).describe(
    'Largest inbound WebSocket frame; larger ones close the socket with 1009.',
  ),
  MAX_VALUE_BYTES: int(16, 64 * 1024 * 1024, 256 * 1024).describe('Largest stored value (JSON bytes) → TOO_LARGE.'),
  MAX_JSON_DEPTH: int(2, 1_000, 64).describe('Deepest JSON nesting accepted in a frame → BAD_REQUEST.'),
  MAX_OUTBOUND_BYTES: int(64 * 1024, 1024 * 1024 * 1024, 8 * 1024 * 1024).describe(
    'Unsent bytes allowed per connection before it is closed with 4008 (slow consumer).',
  ),
  FANOUT_FRAMES_PER_SECOND: int(0, 10_000_000, 50_000).describe(
    'Event frames per second this node aims to send at most under load: when events queue up behind a flush round still under way, the next round to many subscribers is spaced so that, and the events waiting meanwhile share a frame (more events per frame, same delivery rate); a round with nothing queued behind it goes at once; 0 never spaces them.',
  ),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: int(1, 100_000, 1_000).describe('Subscriptions one connection may hold.'),
  MAX_INFLIGHT_PER_CONNECTION: int(1, 100_000, 1_024).describe(
    'Requests one connection may have in progress; more → RATE_LIMITED.',
  ),
  HEARTBEAT_MS: int(100, 600_000, 10_000).describe(
    'Ping interval; a connection that misses one ping is dropped at the next.',
  ),
  PROGRESS_MS: int(100, 600_000, 5_000).describe('Idle time after which a subscription gets a progress push.'),
  STREAM_RETENTION: int(100, 10_000_000, 100_000).describe(
    'Revisions kept in each board’s Redis stream for `fromRev` replay (older ones come from Postgres).',
  ),
  REQUEST_TIMEOUT_MS: int(100, 600_000, 10_000).describe('Longest a request may take on the server → TIMEOUT.'),
  SHUTDOWN_GRACE_MS: int(0, 600_000, 10_000).describe('How long shutdown waits for in-flight requests.'),
  ADMISSION_LAG_MS: int(0, 60_000, 30).describe(
    'Delay (ms) past which writes are refused with RATE_LIMITED instead of queued: the event loop\'s lag, or the age of the oldest commit still waiting for Redis; 0 turns this check off.',
  ),
  ADMISSION_MAX_COMMITS: int(0, 1_000_000, 128).describe(
    'Commits this node may have waiting for Redis at once; past it writes are refused with RATE_LIMITED (a burst admitted at once would wait behind itself); 0 for no bound.',
  ),
  ADMISSION_BACKLOG_MS: int(0, 60_000, 120).describe(
    'Age (ms) of the oldest event not yet sent to its subscriber past which writes are refused with RATE_LIMITED (the fan-out cannot keep up); 0 turns this check off.',
  ),
  PATCH_RETRIES: int(1, 10_000, 100).describe('Compare-and-set retries of a `patch` without `ifVersion`.'),
  HISTORY_ENABLED: bool(true).describe(
    'Keep history in Postgres: the change log, `atRev` reads, `durable` writes, replay past the stream, rebuild after Redis loses data.',
  ),
  PERSIST_BATCH: int(1, 100_000, 1_000).describe('Revisions the history persister reads per board per round.'),
  PERSIST_IDLE_MS: int(1, 10_000, 10).describe(
    'Pause of the history persister before reading a board again after a round that found nothing, or less than a full batch (a `durable` write waiting for the board has it read at once).',
  ),
  PERSIST_CLAIM_MS: int(100, 600_000, 3_000).describe(
    'Events read but not persisted for this long are taken over by another persister (its node presumably died).',
  ),
  SNAPSHOT_EVERY: int(100, 100_000_000, 10_000).describe(
    'Persisted revisions between two snapshots of a board, so a rebuild replays at most about this many events.',
  ),
  MAX_UNPERSISTED: int(0, 100_000_000, 1_000_000).describe(
    'Revisions a board may have above its Postgres watermark (while Postgres is away); past it writes get UNAVAILABLE. 0: no bound.',
  ),
  DURABLE_TIMEOUT_MS: int(10, 600_000, 5_000).describe(
    'How long a `durable` write (or an `atRev` read above the watermark) waits for Postgres → TIMEOUT with `details.rev`.',
  ),
  HISTORY_CHECK_MS: int(50, 600_000, 1_000).describe(
    'Interval of the check for Redis having lost its data (the instance marker); a lost board is rebuilt from Postgres.',
  ),
  PG_POOL_MAX: int(1, 1_000, 8).describe('Postgres connections per node.'),
  MAX_TASK_LOSSES: int(0, 1_000, 5).describe(
    'Times a task may be lost (its worker disconnected or stopped heartbeating) before it fails with error "lost".',
  ),
  TASK_STALL_CHECK_MS: int(100, 600_000, 5_000).describe(
    'Interval of the check, run by every node with workers on a queue, that takes back tasks whose node died.',
  ),
});

export type Config = Readonly<z.infer<typeof configSchema>>;

/** Parses the environment (or overrides, for tests) into a frozen config; throws a readable error. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const known = Object.fromEntries(
    Object.keys(configSchema.shape)
      .map((name) => [name, env[name]])
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = configSchema.safeParse(known);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration: ${lines.join('; ')}`);
  }
  return Object.freeze(parsed.data);
}
