import { boardKeys } from '../board/keys.js';
import { decodeFailure, failureName, type ScriptFailure } from '../board/script-failures.js';
import {
  defineScripts,
  runScript,
  scriptIn,
  scriptSource,
  scriptsFolder,
  type AnyScriptDefinition,
  type RawReply,
  type RedisClient,
  type ScriptEntry,
  type ScriptDefinition,
  type ScriptReply,
  type ScriptResult,
} from '../board/scripts.js';
import type { BoardStore } from '../board/store.js';
import { jobKeys } from './keys.js';
import type { TaskState } from './snapshot.js';

/**
 * The scripts that change a task and write its mirror (`$tasks/<queue>/<taskId>`) in one
 * step. Each is compiled with commit-6.lua in front of it (as a function `commit(keys,
 * args)`) and task-lib.lua, so the mirror takes the one write path (record, revision,
 * stream entry, publish) like any write.
 */
export type TaskWriteScript = 'task-sync-10' | 'task-activate-11' | 'task-touch-11';

/** What task-lib.lua's mirror() did: committed at `rev` (0: the mirror already was the task's, or nothing needed mirroring), or why not. */
type MirrorStatus = { readonly ok: true; rev: number } | ScriptFailure<'noJob' | 'noMeta' | 'backlog'>;

/** task-sync: the mirror's status and the task's state; notAdded when the job is not the named add's. */
export type SyncResult = { readonly ok: true; mirror: MirrorStatus; state: TaskState } | ScriptFailure<'notAdded'>;

export type ActivateResult =
  | { readonly ok: true; attempt: number; seq: number; checkpoint: string; progress: number; mirror: MirrorStatus }
  | ScriptFailure<'fenced' | 'cancelled' | 'tooManyLosses'>;

export type TouchResult = { readonly ok: true; seq: number; changed: boolean; leaseMs: number; mirror: MirrorStatus } | ScriptFailure<'fenced'>;

/** task-cancel: no such job, already finished, held (by the holder of `token`), or cancelled here. */
type CancelResult = { state: 'missing' | 'finished' | 'held' | 'cancelled'; token: string | null };

declare module '../board/scripts.js' {
  interface ScriptRegistry {
    'task-sync-10': ScriptEntry<10, SyncResult>;
    'task-activate-11': ScriptEntry<11, ActivateResult>;
    'task-touch-11': ScriptEntry<11, TouchResult>;
    /** The mirror record, then the job's fields as task-read-5.lua lists them, nil as "". */
    'task-read-5': ScriptEntry<5, string[]>;
    'task-cancel-9': ScriptEntry<9, CancelResult>;
  }
}

const TASK_SCRIPTS_DIR = scriptsFolder(import.meta.url);
const UNCHANGED: MirrorStatus = Object.freeze({ ok: true as const, rev: 0 });
const CANCEL_STATES = ['missing', 'finished', 'held', 'cancelled'] as const;

/** mirror()'s status and revision at `at` in a reply. */
function mirrorAt(reply: ScriptReply, at: number): MirrorStatus {
  const status = reply[at];
  if (status === 1) return { ok: true, rev: Number(reply[at + 1]) };
  return status === 0 ? UNCHANGED : decodeFailure<'noJob' | 'noMeta' | 'backlog'>(reply, at);
}

function taskWriteScript<N extends TaskWriteScript>(name: N, decode: (reply: ScriptReply) => ScriptResult<N>): ScriptDefinition<N> {
  return {
    name,
    lua: () =>
      [
        'local function commit(KEYS, ARGV)',
        scriptSource('commit-6'),
        'end',
        scriptSource('task-lib', TASK_SCRIPTS_DIR),
        scriptSource(name, TASK_SCRIPTS_DIR),
      ].join('\n'),
    decode: decode as (reply: RawReply) => ScriptResult<N>,
  };
}

const TASK_SCRIPTS: readonly AnyScriptDefinition[] = [
  taskWriteScript('task-sync-10', (r) =>
    failureName(r[0]) === 'notAdded' ? decodeFailure<'notAdded'>(r) : { ok: true as const, mirror: mirrorAt(r, 0), state: String(r[2]) as TaskState },
  ),
  taskWriteScript('task-activate-11', (r) =>
    r[0] === 1
      ? { ok: true as const, attempt: Number(r[1]), seq: Number(r[2]), checkpoint: String(r[3] ?? ''), progress: Number(r[4]) || 0, mirror: mirrorAt(r, 5) }
      : decodeFailure<'fenced' | 'cancelled' | 'tooManyLosses'>(r),
  ),
  taskWriteScript('task-touch-11', (r) =>
    r[0] === 1 ? { ok: true as const, seq: Number(r[1]), changed: r[2] === 1, leaseMs: Number(r[3]), mirror: mirrorAt(r, 4) } : decodeFailure<'fenced'>(r),
  ),
  scriptIn(TASK_SCRIPTS_DIR, 'task-read-5', (raw) => (raw as ScriptReply).map((v) => (v === null ? '' : String(v)))),
  scriptIn(TASK_SCRIPTS_DIR, 'task-cancel-9', (raw) => {
    const reply = raw as ScriptReply;
    const state = CANCEL_STATES[Number(reply[0])]!;
    return { state, token: state === 'held' ? String(reply[1]) : null };
  }),
];

export function defineTaskScripts(redis: RedisClient): void {
  defineScripts(redis, TASK_SCRIPTS);
}

/** The mirror's status in a task write script's result (null when the script stopped before mirroring). */
export function mirrorOf(result: SyncResult | ActivateResult | TouchResult): MirrorStatus | null {
  return result.ok ? result.mirror : null;
}

export interface TaskScriptTarget {
  board: string;
  queue: string;
  taskId: string;
  /** Who the mirror's revision names as its actor, as JSON. */
  actorJson: string;
}

/**
 * Runs a task write script: the keys and leading args task-lib.lua expects, then `keys` and
 * `args`. A revision its mirror committed is reported to the store's listener.
 */
export async function runTaskScript<N extends TaskWriteScript>(
  store: BoardStore,
  file: N,
  target: TaskScriptTarget,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): Promise<ScriptResult<N>> {
  const b = boardKeys(target.board);
  const j = jobKeys(target.board, target.queue, target.taskId);
  const allKeys = [b.meta, b.kv, b.idx, b.log, b.req(''), b.locks, j.job, j.lock, j.failed, j.delayed, ...keys];
  const allArgs = [store.options.retention, b.channel, store.options.maxUnpersisted ?? 0, target.actorJson, target.queue, target.taskId, ...args];
  const result = await runScript(store.redis, file, allKeys, allArgs);
  const mirror = mirrorOf(result as SyncResult | ActivateResult | TouchResult);
  if (mirror?.ok && mirror.rev > 0) store.noteCommitted(target.board, mirror.rev);
  return result;
}
