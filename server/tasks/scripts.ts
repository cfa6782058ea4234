import { addDelayedJob } from 'bullmq/dist/esm/scripts/addDelayedJob-6.js';
import { addPrioritizedJob } from 'bullmq/dist/esm/scripts/addPrioritizedJob-9.js';
import { addStandardJob } from 'bullmq/dist/esm/scripts/addStandardJob-9.js';
import { moveToFinished } from 'bullmq/dist/esm/scripts/moveToFinished-14.js';
import { boardKeys } from '../board/keys.js';
import { defineScript, defineScripts, runScript, scriptSource, scriptsFolder, type RedisClient, type ScriptReply } from '../board/scripts.js';
import type { BoardStore } from '../board/store.js';
import { jobKeys } from './keys.js';

/**
 * The scripts that change a task and write its mirror (`$tasks/<queue>/<taskId>`) in one
 * step. Each is compiled with commit-6.lua in front of it (as a function `commit(keys,
 * args)`) and task-lib.lua, so the mirror takes the one write path (record, revision,
 * stream entry, publish) like any write.
 */
const TASK_WRITE_SCRIPTS = ['task-sync-10', 'task-activate-11', 'task-touch-11'] as const;

/**
 * task-add.lua with each of BullMQ's add scripts in front (as a function `bull_add`): the
 * task's claim on its id, the add and the first mirror in one step. The key count is
 * task-lib's 10, the task index, and the BullMQ script's.
 */
export const TASK_ADD_SCRIPTS = {
  addStandardJob: { file: 'task-add-standard-20', bull: addStandardJob },
  addPrioritizedJob: { file: 'task-add-prioritized-20', bull: addPrioritizedJob },
  addDelayedJob: { file: 'task-add-delayed-17', bull: addDelayedJob },
} as const;
type TaskAddScript = (typeof TASK_ADD_SCRIPTS)[keyof typeof TASK_ADD_SCRIPTS]['file'];

export type TaskWriteScript = (typeof TASK_WRITE_SCRIPTS)[number] | TaskAddScript | 'task-finish-24';

/** Scripts that stand alone. */
const PLAIN_SCRIPTS = ['task-read-5', 'task-cancel-9'] as const;

declare module '../board/scripts.js' {
  interface ScriptRegistry {
    'task-sync-10': 10;
    'task-activate-11': 11;
    'task-touch-11': 11;
    'task-read-5': 5;
    'task-cancel-9': 9;
    'task-add-standard-20': 20;
    'task-add-prioritized-20': 20;
    'task-add-delayed-17': 17;
    'task-finish-24': 24;
  }
}

const TASK_SCRIPTS_DIR = scriptsFolder(import.meta.url);
const source = (file: string) => scriptSource(file, TASK_SCRIPTS_DIR);

function composedTaskSource(file: string, prelude: string[] = []): string {
  return [...prelude, 'local function commit(KEYS, ARGV)', scriptSource('commit-6'), 'end', source('task-lib'), source(file)].join('\n');
}

export function defineTaskScripts(redis: RedisClient): void {
  defineScripts(redis, PLAIN_SCRIPTS, TASK_SCRIPTS_DIR);
  for (const file of TASK_WRITE_SCRIPTS) defineScript(redis, file, composedTaskSource(file));
  for (const { file, bull } of Object.values(TASK_ADD_SCRIPTS)) {
    defineScript(redis, file, composedTaskSource('task-add', ['local function bull_add(KEYS, ARGV)', bull.content, 'end']));
  }
  defineScript(redis, 'task-finish-24', composedTaskSource('task-finish', ['local function bull_finish(KEYS, ARGV)', moveToFinished.content, 'end']));
}

export type { ScriptReply };

/** What mirror() in task-lib.lua replies (committed, already so, no such job, no board meta, backlog), and task-sync's not-added. */
export const MirrorStatus = { committed: 1, unchanged: 0, noJob: -1, noMeta: -4, backlog: -5, notAdded: -9 } as const;

export interface TaskScriptTarget {
  board: string;
  queue: string;
  taskId: string;
  /** Who the mirror's revision names as its actor, as JSON. */
  actorJson: string;
}

/**
 * Runs a task write script: the keys and leading args task-lib.lua expects, then `keys` and
 * `args`. `mirrorAt` is where the reply carries mirror()'s status and revision; a revision
 * committed is reported to the store's listener.
 */
export async function runTaskScript(
  store: BoardStore,
  file: TaskWriteScript,
  target: TaskScriptTarget,
  keys: readonly string[],
  args: ReadonlyArray<string | number | Buffer>,
  mirrorAt: number,
): Promise<ScriptReply> {
  const b = boardKeys(target.board);
  const j = jobKeys(target.board, target.queue, target.taskId);
  const allKeys = [b.meta, b.kv, b.idx, b.log, b.req(''), b.locks, j.job, j.lock, j.failed, j.delayed, ...keys];
  const allArgs = [store.options.retention, b.channel, store.options.maxUnpersisted ?? 0, target.actorJson, target.queue, target.taskId, ...args];
  // (ioredis sends a Buffer as it is: BullMQ's args are msgpack.)
  const reply = await runScript(store.redis, file, allKeys, allArgs as Array<string | number>);
  if (Number(reply[mirrorAt]) === MirrorStatus.committed) store.noteCommitted(target.board, Number(reply[mirrorAt + 1]));
  return reply;
}
