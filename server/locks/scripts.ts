import { boardKeys } from '../board/keys.js';
import { defineScripts, runScript, scriptSource, type RedisClient } from '../board/scripts.js';
import type { Services } from '../services.js';

/**
 * The scripts that write `$locks/...` and `$presence/...` keys. Each is compiled with
 * commit-6.lua in front of it (as a function `commit(keys, args)`) and lock-lib.lua, so
 * these server-written keys take the same write path as a client's put: same record
 * format, revision, stream entry and publish, and any change to that path applies here too.
 */
export const BOARD_WRITE_SCRIPTS = [
  'lock-number-9',
  'lock-extend-9',
  'lock-release-9',
  'presence-set-8',
  'presence-clear-8',
  'sweep-expired-8',
] as const;
export type BoardWriteScript = (typeof BOARD_WRITE_SCRIPTS)[number];

/** Scripts that stand alone. */
const PLAIN_SCRIPTS = ['presence-refresh-2', 'sweep-reschedule-1'] as const;

/** Who deletes what expired (events carry it as their actor). */
export const EXPIRY_ACTOR_JSON = JSON.stringify('$server');

export function composedSource(file: BoardWriteScript): string {
  return [
    'local function commit(KEYS, ARGV)',
    scriptSource('commit-6'),
    'end',
    scriptSource('lock-lib'),
    scriptSource(file),
  ].join('\n');
}

// The same `bb_<name>` naming as defineScripts, so runScript finds these commands too.
function commandName(file: string): string {
  return `bb_${file.replace(/-\d+$/, '').replace(/-/g, '_')}`;
}

export function defineLockScripts(redis: RedisClient): void {
  defineScripts(redis, PLAIN_SCRIPTS);
  for (const file of BOARD_WRITE_SCRIPTS) {
    const numberOfKeys = Number(/-(\d+)$/.exec(file)?.[1]);
    redis.defineCommand(commandName(file), { numberOfKeys, lua: composedSource(file) });
  }
}

export type ScriptReply = Array<string | number | null>;

/**
 * Runs a board write script: the keys and leading args lock-lib.lua expects, then `keys`
 * and `args`. A board without meta is materialized (created, or rebuilt from history)
 * and the script run once more. Reports the revision it committed to the store's listener.
 */
export async function runBoardScript(
  services: Services,
  file: BoardWriteScript,
  board: string,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): Promise<ScriptReply> {
  const k = boardKeys(board);
  const allKeys = [k.meta, k.kv, k.idx, k.log, k.req(''), k.locks, k.deadlines, k.presenceOwners, ...keys];
  const allArgs = [services.config.STREAM_RETENTION, k.channel, EXPIRY_ACTOR_JSON, ...args];
  for (let attempt = 0; ; attempt++) {
    const reply = await runScript(services.redis, file, allKeys, allArgs);
    const lastRev = Number(reply[reply.length - 1] ?? 0);
    if (lastRev > 0) services.store.noteCommitted(board, lastRev);
    if (reply[0] === -4 && attempt === 0) {
      await services.store.materialize(board);
      continue;
    }
    return reply;
  }
}
