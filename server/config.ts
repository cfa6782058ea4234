import { z } from 'zod';

/**
 * Every setting the server reads from its environment, validated once and frozen.
 * `docs/configuration.md` documents each entry of `configSchema`; a test keeps the two in step.
 */

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const configSchema = z.object({
  PORT: int(0, 65_535, 8080).describe('TCP port for HTTP and WebSocket (0 picks a free one).'),
  HOST: z.string().default('0.0.0.0').describe('Interface to listen on.'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379').describe('Redis holding the hot board state.'),
  REDIS_CLUSTER_NODES: z.string().optional().describe('Comma-separated host:port seeds of a Redis Cluster; when set, REDIS_URL is not used.'),
  REDIS_SENTINELS: z
    .string()
    .optional()
    .describe(
      'Comma-separated host:port of Redis Sentinels; when set (with REDIS_SENTINEL_NAME), the node asks them for the current primary and follows a failover. REDIS_URL then gives only the password and db number.',
    ),
  REDIS_SENTINEL_NAME: z.string().optional().describe("The primary's name as the Sentinels know it (`sentinel monitor <name> …`)."),
  DATABASE_URL: z
    .string()
    .default('postgres://root@127.0.0.1:5432/blackboard')
    .describe('Postgres holding history; the database is created with its migrations on start.'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level.'),
  WORKERS: int(1, 64, 1).describe('Node processes sharing the port (node:cluster); each is a full node. Set it to the number of cores to use them all.'),
  NODE_ID: z.string().max(64).optional().describe('Name of this server node (default: host name and pid).'),
  AUTH_MODE: z.enum(['none', 'jwt']).default('none').describe('`none` (development) or `jwt`.'),
  JWT_SECRET: z.string().min(32).optional().describe('AUTH_MODE=jwt: HS256 secret (at least 32 characters). Exactly one of the three JWT key settings.'),
  JWT_PUBLIC_KEY_FILE: z.string().optional().describe('AUTH_MODE=jwt: PEM file with the public key (or certificate) that verifies RS/PS/ES/EdDSA tokens.'),
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
    'Refused requests within 10 s after which the connection is closed with 4029; a refused frame counts once per started 64 KiB.',
  ),
  RATE_LIMIT_AGENT_RPS: int(0, 10_000_000, 10_000).describe(
    'Requests per second one agent may send to this node across all its connections (token bucket refill); past it → RATE_LIMITED (reason `agentRate`). 0: no limit.',
  ),
  RATE_LIMIT_AGENT_BURST: int(1, 100_000_000, 20_000).describe(
    'Requests one agent may send at once above its steady rate, across its connections (bucket size).',
  ),
  RATE_LIMIT_AGENT_BYTES: int(0, 1024 * 1024 * 1024, 4 * 1024 * 1024).describe(
    'Inbound frame bytes per second one agent may send to this node across its connections, counted from the frame’s length before it is parsed; a frame with long runs of digits (parsed digit-exact, several times slower) counts 8×. Past it → RATE_LIMITED (reason `agentBytes`). 0: no limit.',
  ),
  RATE_LIMIT_AGENT_BYTES_BURST: int(1_024, 1024 * 1024 * 1024, 16 * 1024 * 1024).describe(
    'Bytes one agent may send at once above its steady byte rate (bucket size; never less than MAX_FRAME_BYTES).',
  ),
  MAX_SUBSCRIPTIONS_PER_AGENT: int(1, 10_000_000, 4_000).describe(
    'Subscriptions one agent may hold on this node across its connections; more → RATE_LIMITED (reason `subscriptions`).',
  ),
  MAX_GLOBS_PER_AGENT: int(1, 10_000_000, 512).describe(
    'Glob patterns (with `*`) one agent’s subscriptions may hold in all on this node; each is matched against every readable key written to its board, so this bounds the work one agent adds to each write. More → RATE_LIMITED (reason `patterns`).',
  ),
  MAX_LOCKS_PER_AGENT: int(1, 10_000_000, 1_000).describe(
    'Locks one agent may hold through this node across its connections; more → RATE_LIMITED (reason `locks`).',
  ),
  MAX_PRESENCE_PER_AGENT: int(1, 10_000_000, 1_000).describe(
    'Boards on which one agent may show presence through this node across its connections; more → RATE_LIMITED (reason `presence`).',
  ),
  MAX_TASK_WORKERS_PER_AGENT: int(1, 100_000, 64).describe(
    'Task workers (`task.work`) one agent may run on this node across its connections; more → RATE_LIMITED (reason `workers`). Each queue a node works holds a Redis connection, so this also bounds what one agent can open.',
  ),
  HANDSHAKE_TIMEOUT_MS: int(100, 60_000, 10_000).describe(
    'Time a client has to send its request head (a TCP connection idle that long is closed), and then for authentication to finish.',
  ),
  MAX_FRAME_BYTES: int(1_024, 64 * 1024 * 1024, 1024 * 1024).describe('Largest inbound WebSocket frame; larger ones close the socket with 1009.'),
  MAX_VALUE_BYTES: int(16, 64 * 1024 * 1024, 256 * 1024).describe('Largest stored value (JSON bytes) → TOO_LARGE.'),
  MAX_JSON_DEPTH: int(2, 1_000, 64).describe('Deepest JSON nesting accepted in a frame → BAD_REQUEST.'),
  MAX_OUTBOUND_BYTES: int(64 * 1024, 1024 * 1024 * 1024, 8 * 1024 * 1024).describe(
    'Unsent bytes allowed per connection before it is closed with 4008 (slow consumer).',
  ),
  MAX_REPLY_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .max(1024 * 1024 * 1024)
    .optional()
    .describe(
      'Size at which `list`, `history` and `boards` replies stop early with `more: true` (each holds at least one item), and at which a subscription snapshot continues in `snapshot` pushes. A reply may pass it by one item (a revision at most), so it and MAX_REVISION_BYTES together must fit MAX_OUTBOUND_BYTES. Unset: 1 MiB, or an eighth of MAX_OUTBOUND_BYTES when that is less.',
    ),
  MAX_REVISION_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .max(1024 * 1024 * 1024)
    .optional()
    .describe(
      'Largest revision (the events of one write together, values and patches included) → TOO_LARGE at write time, nothing applied. Must be below MAX_OUTBOUND_BYTES, so that a subscriber closed with 4008 can always resume. Unset: 4 MiB, or half of MAX_OUTBOUND_BYTES when that is less.',
    ),
  FANOUT_FRAMES_PER_SECOND: int(0, 10_000_000, 50_000).describe(
    'Event frames per second this node aims to send at most under load: when events keep queuing up behind flush rounds still under way (two rounds in a row), the next round to many subscribers is spaced so that, and the events waiting meanwhile share a frame (more events per frame, same delivery rate); a round with nothing queued behind it, or behind it alone, goes at once; 0 never spaces them.',
  ),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: int(1, 100_000, 1_000).describe('Subscriptions one connection may hold.'),
  MAX_INFLIGHT_PER_CONNECTION: int(1, 100_000, 1_024).describe('Requests one connection may have in progress; more → RATE_LIMITED.'),
  MAX_INFLIGHT_PER_AGENT: int(1, 10_000_000, 512).describe(
    'Requests one agent may have in progress on this node across its connections (they wait in the node’s Redis pipeline ahead of other agents’); more → RATE_LIMITED (reason `inflight`).',
  ),
  HEARTBEAT_MS: int(100, 600_000, 10_000).describe('Ping interval; a connection that misses one ping is dropped at the next.'),
  PROGRESS_MS: int(100, 600_000, 5_000).describe('Idle time after which a subscription gets a progress push.'),
  STREAM_RETENTION: int(100, 10_000_000, 100_000).describe('Revisions kept in each board’s Redis stream for `fromRev` replay (older ones come from Postgres).'),
  REQUEST_TIMEOUT_MS: int(100, 600_000, 10_000).describe('Longest a request may take on the server → TIMEOUT.'),
  SHUTDOWN_GRACE_MS: int(0, 600_000, 10_000).describe('How long shutdown waits for in-flight requests.'),
  ADMISSION_LAG_MS: int(0, 60_000, 30).describe(
    "Delay (ms) past which writes are refused with RATE_LIMITED instead of queued: the event loop's lag, or the age of the oldest commit still waiting for Redis; 0 turns this check off.",
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
  PERSIST_IDLE_MS: int(1, 10_000, 25).describe(
    'Pause of the history persister before reading a board again after a round that found nothing, or less than a full batch (a `durable` write waiting for the board has it read at once). Longer pauses give each Postgres commit more rows (less CPU per row) and leave `memory` writes longer out of Postgres.',
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
  SEARCH_WAIT_MS: int(0, 60_000, 5_000).describe('Longest a `search` with `minRev` waits for the index to hold that revision → TIMEOUT with `details.minRev`.'),
  SEARCH_TIMEOUT_MS: int(50, 60_000, 2_000).describe(
    'Postgres `statement_timeout` of each search query; a search that needs longer gets TIMEOUT (narrow it with `patterns`).',
  ),
  SEARCH_POOL_MAX: int(1, 100, 4).describe(
    'Postgres connections per node for `search` (apart from the persister’s); one agent may have half of them (at least 1) in use, more → RATE_LIMITED (reason `searches`).',
  ),
  METRICS_TOKEN: z
    .string()
    .min(16)
    .optional()
    .describe('When set, `GET /metrics` requires `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise). At least 16 characters.'),
  METRICS_CACHE_MS: int(0, 60_000, 1_000).describe(
    'Scrapes of `/metrics` within this long of the last rendering get that rendering, so any number of scrapers costs one rendering per interval; 0 renders every scrape.',
  ),
  METRICS_REFRESH_MS: int(1_000, 3_600_000, 15_000).describe(
    'Interval at which the per-board figures of `/metrics` (locks held, tasks by state) are recomputed in the background; a scrape only reads the last result.',
  ),
  METRICS_MAX_BOARDS: int(0, 1_000_000, 1_000).describe(
    'Boards the background count of `/metrics` visits per refresh (the first ones of the boards index); 0 turns the per-board figures off.',
  ),
  MAX_TASK_LOSSES: int(0, 1_000, 5).describe('Times a task may be lost (its worker disconnected or stopped heartbeating) before it fails with error "lost".'),
  TASK_STALL_CHECK_MS: int(100, 600_000, 5_000).describe(
    'Interval of the check, run by every node with workers on a queue, that takes back tasks whose node died.',
  ),
  MCP_ENABLED: bool(true).describe('Serve MCP (Model Context Protocol) over Streamable HTTP at `/mcp` (docs/mcp.md).'),
  MCP_ALLOWED_HOSTS: z
    .string()
    .optional()
    .describe(
      'Host header values `/mcp` answers, comma-separated (with or without port). Unset: with AUTH_MODE=none, requests over loopback must name localhost, 127.0.0.1 or [::1] (DNS-rebinding protection); otherwise any.',
    ),
  MCP_MAX_SESSIONS: int(1, 1_000_000, 1_000).describe('MCP sessions one node serves at once; more → 503 at initialize.'),
  MCP_SESSION_IDLE_MS: int(1_000, 86_400_000, 1_800_000).describe(
    'An MCP session without requests or an open stream for this long ends (its locks and claimed tasks are released).',
  ),
  MCP_STREAM_MAX_EVENTS: int(10, 1_000_000, 1_000).describe('Events kept per MCP SSE stream for resumption with `Last-Event-ID`.'),
  MCP_STREAM_TTL_MS: int(1_000, 86_400_000, 600_000).describe('How long the events of an MCP SSE stream are kept after its last one.'),
});

const DEFAULT_MAX_REVISION_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_REPLY_BYTES = 1024 * 1024;

export type Config = Readonly<z.infer<typeof configSchema> & { MAX_REVISION_BYTES: number; MAX_REPLY_BYTES: number }>;

/**
 * Settings derived from others, and bounds between settings: whatever a client is sent
 * (a reply, a snapshot part, a revision) must fit its outbound bound, or it could never
 * make progress.
 */
function settle(parsed: z.infer<typeof configSchema>): Config {
  const outbound = parsed.MAX_OUTBOUND_BYTES;
  const revision = parsed.MAX_REVISION_BYTES ?? Math.min(DEFAULT_MAX_REVISION_BYTES, Math.floor(outbound / 2));
  const reply = parsed.MAX_REPLY_BYTES ?? Math.min(DEFAULT_MAX_REPLY_BYTES, Math.floor(outbound / 8));
  if (revision >= outbound) {
    throw new ConfigError(`MAX_REVISION_BYTES: must be below MAX_OUTBOUND_BYTES (${outbound})`);
  }
  if (reply + revision > outbound) {
    throw new ConfigError(`MAX_REPLY_BYTES: with MAX_REVISION_BYTES (${revision}) it must fit MAX_OUTBOUND_BYTES (${outbound})`);
  }
  if ((parsed.REDIS_SENTINELS === undefined) !== (parsed.REDIS_SENTINEL_NAME === undefined)) {
    throw new ConfigError('REDIS_SENTINELS and REDIS_SENTINEL_NAME go together');
  }
  if (parsed.REDIS_SENTINELS !== undefined && parsed.REDIS_CLUSTER_NODES !== undefined) {
    throw new ConfigError('REDIS_SENTINELS: not with REDIS_CLUSTER_NODES (a Redis Cluster fails over by itself)');
  }
  return Object.freeze({ ...parsed, MAX_REVISION_BYTES: revision, MAX_REPLY_BYTES: reply });
}

/** Parses the environment (or overrides, for tests) into a frozen config; throws a readable error. */
/** A setting that is missing, malformed or inconsistent with another; the node does not start. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(detail: string) {
    super(`invalid configuration: ${detail}`);
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const known = Object.fromEntries(
    Object.keys(configSchema.shape)
      .map((name) => [name, env[name]])
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = configSchema.safeParse(known);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(lines.join('; '));
  }
  return settle(parsed.data);
}
