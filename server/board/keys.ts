/**
 * Every Redis key name the server uses. All keys of a board share the hash tag
 * `{<board>}`, so a board lives in one Redis Cluster slot and one Lua script can touch
 * all of them.
 */

export const KEY_ROOT = 'bb';

export function boardPrefix(board: string): string {
  return `${KEY_ROOT}:{${board}}:`;
}

interface BoardKeys {
  meta: string;
  kv: string;
  idx: string;
  log: string;
  locks: string;
  deadlines: string;
  /** hash: agent id → the connection that set its `$presence/<agent>` entry. */
  presenceOwners: string;
  /** hash: pattern id → key pattern, for each pattern with a schema (versions live in `$schemas/…` keys). */
  schemas: string;
  /** hash: key → "<modRev>:<schemaVersion>", the schema version the value written at modRev conforms to. */
  schemaVersions: string;
  /** string: the node running the board's background schema migration pass (a lease). */
  schemaPass: string;
  /** string: JSON figures of the board's last finished schema migration pass. */
  schemaPassReport: string;
  channel: string;
  req(reqId: string): string;
  lockResource(name: string): string;
}

const cache = new Map<string, BoardKeys>();
const CACHE_LIMIT = 10_000;

export function boardKeys(board: string): BoardKeys {
  const hit = cache.get(board);
  if (hit) return hit;
  const p = boardPrefix(board);
  const keys: BoardKeys = {
    meta: `${p}meta`,
    kv: `${p}kv`,
    idx: `${p}idx`,
    log: `${p}log`,
    locks: `${p}locks`,
    deadlines: `${p}deadlines`,
    presenceOwners: `${p}presence`,
    schemas: `${p}schemas`,
    schemaVersions: `${p}schema-versions`,
    schemaPass: `${p}schema-pass`,
    schemaPassReport: `${p}schema-pass-report`,
    channel: `${p}events`,
    req: (reqId) => `${p}req:${reqId}`,
    lockResource: (name) => `${p}lock:${name}`,
  };
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(board, keys);
  return keys;
}

/** Board names known to exist (with a meta, perhaps no revision yet), for the `boards` op (not in a board's slot). */
export const BOARDS_INDEX = `${KEY_ROOT}:boards`;

/** string: a random value that new boards derive their first epoch from; lost with Redis's data. */
export const GENESIS_KEY = `${KEY_ROOT}:genesis`;

/** Marks this Redis dataset; its disappearance means Redis lost its data. */
export const INSTANCE_KEY = `${KEY_ROOT}:instance`;

/**
 * Boards whose `deadlines` zset may hold entries, scored by a time no later than the
 * earliest of them, so the expiry sweepers visit only boards with something due.
 */
export const DEADLINE_BOARDS = `${KEY_ROOT}:deadline-boards`;

/** zset: boards with a schema migration pass due, scored by when (ms). */
export const SCHEMA_PASSES = `${KEY_ROOT}:schema-passes`;

/** Pub/sub channel: names of boards whose schemas changed, so every node drops its cached copy. */
export const SCHEMA_CHANNEL = `${KEY_ROOT}:schema-changes`;

/**
 * string: the id of the deployment this Redis serves, also recorded in its Postgres
 * history database; nodes whose database holds another id refuse to start.
 */
export const CLUSTER_KEY = `${KEY_ROOT}:cluster`;
