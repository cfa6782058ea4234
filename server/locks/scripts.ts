import { boardKeys } from '../board/keys.js';
import { defineScript, defineScripts, runScript, scriptSource, scriptsFolder, type RedisClient, type ScriptReply } from '../board/scripts.js';
import { PRESENCE_SCRIPTS } from '../presence/scripts.js';
import type { Services } from '../services.js';

/** The lock and sweep scripts live beside this file, the presence ones beside the presence registry. */
const LOCK_SCRIPTS_DIR = scriptsFolder(import.meta.url);
const LOCK_SCRIPTS: ReadonlySet<string> = new Set([
  'lock-lib',
  'lock-acquire-9',
  'lock-extend-9',
  'lock-release-9',
  'lock-let-go-1',
  'sweep-expired-8',
  'sweep-reschedule-1',
]);

function source(file: string): string {
  if (LOCK_SCRIPTS.has(file)) return scriptSource(file, LOCK_SCRIPTS_DIR);
  return file.startsWith('presence-') ? scriptSource(file, PRESENCE_SCRIPTS) : scriptSource(file);
}

/**
 * The scripts that write `$locks/...` and `$presence/...` keys. Each is compiled with
 * commit-6.lua in front of it (as a function `commit(keys, args)`) and lock-lib.lua, so
 * these server-written keys take the same write path as a client's put: same record
 * format, revision, stream entry and publish, and any change to that path applies here too.
 */
export const BOARD_WRITE_SCRIPTS = ['lock-acquire-9', 'lock-extend-9', 'lock-release-9', 'presence-set-8', 'presence-clear-8', 'sweep-expired-8'] as const;
export type BoardWriteScript = (typeof BOARD_WRITE_SCRIPTS)[number];

declare module '../board/scripts.js' {
  interface ScriptRegistry {
    'lock-acquire-9': 9;
    'lock-extend-9': 9;
    'lock-release-9': 9;
    'lock-let-go-1': 1;
    'sweep-expired-8': 8;
    'sweep-reschedule-1': 1;
  }
}

/** Who deletes what expired (events carry it as their actor). */
export const EXPIRY_ACTOR_JSON = JSON.stringify('$server');

export function composedSource(file: BoardWriteScript): string {
  return ['local function commit(KEYS, ARGV)', scriptSource('commit-6'), 'end', source('lock-lib'), source(file)].join('\n');
}

export function defineLockScripts(redis: RedisClient): void {
  defineScripts(redis, ['sweep-reschedule-1'], LOCK_SCRIPTS_DIR);
  defineScripts(redis, ['presence-refresh-2'], PRESENCE_SCRIPTS);
  defineScripts(redis, ['lock-let-go-1'], LOCK_SCRIPTS_DIR);
  for (const file of BOARD_WRITE_SCRIPTS) defineScript(redis, file, composedSource(file));
}

export type { ScriptReply };

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
