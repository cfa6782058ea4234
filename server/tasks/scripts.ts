import { addDelayedJob } from 'bullmq/dist/esm/scripts/addDelayedJob-6.js';
import { addPrioritizedJob } from 'bullmq/dist/esm/scripts/addPrioritizedJob-9.js';
import { addStandardJob } from 'bullmq/dist/esm/scripts/addStandardJob-9.js';
import { moveToFinished } from 'bullmq/dist/esm/scripts/moveToFinished-14.js';
import { boardKeys } from '../board/keys.js';
import { decodeFailure, type ScriptFailure } from '../board/script-failures.js';
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

export type TaskWriteScript = 'task-sync-10' | 'task-activate-11' | 'task-touch-11' | TaskAddScript | 'task-finish-24';

/** What task-lib.lua's mirror() did: committed at `rev` (0: the mirror already was the task's, or nothing needed mirroring), or why not. */
type MirrorStatus = { readonly ok: true; rev: number } | ScriptFailure<'noJob' | 'noMeta' | 'backlog'>;

/** task-sync: the mirror's status and the task's state. */
export type SyncResult = { readonly ok: true; mirror: MirrorStatus; state: TaskState };

export type ActivateResult =
  | { readonly ok: true; attempt: number; seq: number; checkpoint: string; progress: number; mirror: MirrorStatus }
  | ScriptFailure<'fenced' | 'cancelled' | 'tooManyLosses'>;

/** task-add: added and mirrored; the board has the task already; the id is another queue's; BullMQ refused (its code). */
export type AddResult =
  | { readonly ok: true; kind: 'added'; mirror: MirrorStatus }
  | { readonly ok: true; kind: 'exists' }
  | { readonly ok: true; kind: 'otherQueue'; queue: string }
  | { readonly ok: true; kind: 'refused'; code: number };

/** What task-activate tells of a delivery, and task-finish of the next job it delivers. */
export interface Activation {
  attempt: number;
  seq: number;
  /** The checkpoint JSON, "" when none. */
  checkpoint: string;
  progress: number;
  mirror: MirrorStatus;
}

/**
 * task-finish: BullMQ refused (its code: the token lost the task); completed and mirrored
 * with no next job; completed and the next job (BullMQ's fields) delivered, mirrored in the
 * completion's revision (its activation's mirror has rev 0); or completed and the next job
 * fetched but not delivered (still locked with the finished delivery's token).
 */
export type FinishResult =
  | { readonly ok: true; kind: 'refused'; code: number }
  | { readonly ok: true; kind: 'done'; mirror: MirrorStatus }
  | { readonly ok: true; kind: 'next'; mirror: MirrorStatus; nextId: string; nextJob: unknown; activation: Activation }
  | { readonly ok: true; kind: 'notDelivered'; mirror: MirrorStatus; nextId: string; nextJob: unknown; reason: 'cancelled' | 'lost' | 'mirror' };

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
    'task-add-standard-20': ScriptEntry<20, AddResult>;
    'task-add-prioritized-20': ScriptEntry<20, AddResult>;
    'task-add-delayed-17': ScriptEntry<17, AddResult>;
    'task-finish-24': ScriptEntry<24, FinishResult>;
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

/**
 * A task write script: commit-6.lua in front as a function `commit(KEYS, ARGV)`, then
 * `prelude` (a BullMQ script composed in), task-lib.lua and the script's own file.
 */
function taskWriteScript<N extends TaskWriteScript>(
  name: N,
  decode: (reply: ScriptReply) => ScriptResult<N>,
  composed: { file?: string; prelude?: readonly string[] } = {},
): ScriptDefinition<N> {
  return {
    name,
    lua: () =>
      [
        ...(composed.prelude ?? []),
        'local function commit(KEYS, ARGV)',
        scriptSource('commit-6'),
        'end',
        scriptSource('task-lib', TASK_SCRIPTS_DIR),
        scriptSource(composed.file ?? name, TASK_SCRIPTS_DIR),
      ].join('\n'),
    decode: decode as (reply: RawReply) => ScriptResult<N>,
  };
}

const ADD_KINDS = ['exists', 'added', 'otherQueue', 'refused'] as const;

function decodeAdd(r: ScriptReply): AddResult {
  const kind = ADD_KINDS[Number(r[0])];
  if (kind === 'added') return { ok: true, kind, mirror: mirrorAt(r, 1) };
  if (kind === 'otherQueue') return { ok: true, kind, queue: String(r[3]) };
  if (kind === 'refused') return { ok: true, kind, code: Number(r[3]) };
  return { ok: true, kind: 'exists' };
}

function decodeActivation(r: ScriptReply, at: number): Activation {
  return { attempt: Number(r[at]), seq: Number(r[at + 1]), checkpoint: String(r[at + 2] ?? ''), progress: Number(r[at + 3]) || 0, mirror: mirrorAt(r, at + 4) };
}

function decodeFinish(r: ScriptReply): FinishResult {
  switch (r[0]) {
    case 0:
      return { ok: true, kind: 'refused', code: Number(r[3]) };
    case 2:
      return { ok: true, kind: 'next', mirror: mirrorAt(r, 1), nextId: String(r[3]), nextJob: r[4], activation: decodeActivation(r, 5) };
    case 3:
      return {
        ok: true,
        kind: 'notDelivered',
        mirror: mirrorAt(r, 1),
        nextId: String(r[3]),
        nextJob: r[4],
        reason: String(r[5]) as 'cancelled' | 'lost' | 'mirror',
      };
    default:
      return { ok: true, kind: 'done', mirror: mirrorAt(r, 1) };
  }
}

const TASK_SCRIPTS: readonly AnyScriptDefinition[] = [
  taskWriteScript('task-sync-10', (r) => ({ ok: true as const, mirror: mirrorAt(r, 0), state: String(r[2]) as TaskState })),
  taskWriteScript('task-activate-11', (r) =>
    r[0] === 1 ? { ok: true as const, ...decodeActivation(r, 1) } : decodeFailure<'fenced' | 'cancelled' | 'tooManyLosses'>(r),
  ),
  ...Object.values(TASK_ADD_SCRIPTS).map(({ file, bull }) =>
    taskWriteScript(file, decodeAdd, { file: 'task-add', prelude: ['local function bull_add(KEYS, ARGV)', bull.content, 'end'] }),
  ),
  taskWriteScript('task-finish-24', decodeFinish, { file: 'task-finish', prelude: ['local function bull_finish(KEYS, ARGV)', moveToFinished.content, 'end'] }),
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
export function mirrorOf(result: SyncResult | ActivateResult | TouchResult | AddResult | FinishResult): MirrorStatus | null {
  if (!result.ok) return null;
  return 'mirror' in result ? result.mirror : null;
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
  args: ReadonlyArray<string | number | Buffer>,
): Promise<ScriptResult<N>> {
  const b = boardKeys(target.board);
  const j = jobKeys(target.board, target.queue, target.taskId);
  const allKeys = [b.meta, b.kv, b.idx, b.log, b.req(''), b.locks, j.job, j.lock, j.failed, j.delayed, ...keys];
  const allArgs = [store.options.retention, b.channel, store.options.maxUnpersisted ?? 0, target.actorJson, target.queue, target.taskId, ...args];
  // (ioredis sends a Buffer as it is: BullMQ's args are msgpack.)
  const result = await runScript(store.redis, file, allKeys, allArgs as Array<string | number>);
  const mirror = mirrorOf(result as SyncResult | ActivateResult | TouchResult | AddResult | FinishResult);
  if (mirror?.ok && mirror.rev > 0) store.noteCommitted(target.board, mirror.rev);
  return result;
}
