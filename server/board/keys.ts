/**
 * Every Redis key name the server uses. All keys of a board share the hash tag
 * `{<board>}`, so a board lives in one Redis Cluster slot and one Lua script can touch
 * all of them.
 */

export const KEY_ROOT = 'bb';

export function boardPrefix(board: string): string {
  return `${KEY_ROOT}:{${board}}:`;
}

export interface BoardKeys {
  meta: string;
  kv: string;
  idx: string;
  log: string;
  locks: string;
  deadlines: string;
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
    channel: `${p}events`,
    req: (reqId) => `${p}req:${reqId}`,
    lockResource: (name) => `${p}lock:${name}`,
  };
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(board, keys);
  return keys;
}

/** Board names known to exist, for the `boards` op (not in a board's slot). */
export const BOARDS_INDEX = `${KEY_ROOT}:boards`;

/** Marks this Redis dataset; its disappearance means Redis lost its data. */
export const INSTANCE_KEY = `${KEY_ROOT}:instance`;
