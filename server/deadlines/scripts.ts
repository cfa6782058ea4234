import { boardKeys } from '../board/keys.js';
import { isFailure, decodeFailure, type FailureName, type ScriptFailure } from '../board/script-failures.js';
import {
  decodeReply,
  defineScripts,
  runScriptRaw,
  scriptIn,
  scriptSource,
  scriptsFolder,
  type AnyScriptDefinition,
  type RawReply,
  type RedisClient,
  type ScriptEntry,
  type ScriptDefinition,
  type ScriptName,
  type ScriptReply,
  type ScriptResult,
} from '../board/scripts.js';
import type { Services } from '../services.js';

/**
 * Server-written keys with deadlines (`$locks/...`, `$presence/...`): the library their
 * scripts share, the runner that calls them, and the expiry sweep's own scripts. Locks and
 * presence both build on this folder; neither imports the other.
 */

const folder = scriptsFolder(import.meta.url);

/** Who deletes what expired (events carry it as their actor). */
const EXPIRY_ACTOR_JSON = JSON.stringify('$server');

type SweepResult = { readonly ok: true; deleted: number; more: boolean; next: string } | ScriptFailure<'noMeta'>;

declare module '../board/scripts.js' {
  interface ScriptRegistry {
    'sweep-expired-8': ScriptEntry<8, SweepResult>;
    /** Whether the board's global entry moved (false: someone changed it since the sweeper read it). */
    'sweep-reschedule-1': ScriptEntry<1, boolean>;
  }
}

/**
 * A board write script of `scriptsDir`: compiled with commit-6.lua in front of it (as a
 * function `commit(keys, args)`) and deadline-lib.lua, so these server-written keys take
 * the same write path as a client's put: same record format, revision, stream entry and
 * publish, and any change to that path applies here too. Its reply ends with the last
 * revision it committed, which `decode` need not read.
 */
export function boardWriteScript<N extends ScriptName>(scriptsDir: string, name: N, decode: (reply: ScriptReply) => ScriptResult<N>): ScriptDefinition<N> {
  return {
    name,
    lua: () =>
      ['local function commit(KEYS, ARGV)', scriptSource('commit-6'), 'end', scriptSource('deadline-lib', folder), scriptSource(name, scriptsDir)].join('\n'),
    decode: decode as (reply: RawReply) => ScriptResult<N>,
  };
}

/** A reply whose first element is 1 on success, or a failure code. */
export function okOr<N extends FailureName, T>(reply: ScriptReply, ok: (reply: ScriptReply) => T): T | ScriptFailure<N> {
  return reply[0] === 1 ? ok(reply) : decodeFailure<N>(reply);
}

const SWEEP_SCRIPTS: readonly AnyScriptDefinition[] = [
  boardWriteScript(folder, 'sweep-expired-8', (reply) =>
    okOr(reply, (r) => ({ ok: true as const, deleted: Number(r[1]), more: r[2] === 1, next: String(r[3]) })),
  ),
  scriptIn(folder, 'sweep-reschedule-1', (reply) => reply === 1),
];

export function defineSweepScripts(redis: RedisClient): void {
  defineScripts(redis, SWEEP_SCRIPTS);
}

/**
 * Runs a board write script: the keys and leading args deadline-lib.lua expects, then
 * `keys` and `args`. A board without meta is materialized (created, or rebuilt from
 * history) and the script run once more. Reports the revision it committed to the store's
 * listener.
 */
export async function runBoardScript<N extends ScriptName>(
  services: Services,
  file: N,
  board: string,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): Promise<ScriptResult<N>> {
  const k = boardKeys(board);
  const allKeys = [k.meta, k.kv, k.idx, k.log, k.req(''), k.locks, k.deadlines, k.presenceOwners, ...keys];
  const allArgs = [services.config.STREAM_RETENTION, k.channel, EXPIRY_ACTOR_JSON, ...args];
  for (let attempt = 0; ; attempt++) {
    const reply = (await runScriptRaw(services.redis, file, allKeys, allArgs)) as ScriptReply;
    const lastRev = Number(reply[reply.length - 1] ?? 0);
    if (lastRev > 0) services.store.noteCommitted(board, lastRev);
    const result = decodeReply(file, reply);
    if (attempt === 0 && isFailure(result as { ok: boolean }, 'noMeta')) {
      await services.store.materialize(board);
      continue;
    }
    return result;
  }
}
