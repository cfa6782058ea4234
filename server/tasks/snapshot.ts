import { runScript, type RedisClient } from '../board/scripts.js';
import { parseRecord, type StoredRecord } from '../board/records.js';
import { boardKvKey, jobKeys, mirrorKeys } from './keys.js';

export type TaskState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled';
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(['completed', 'failed', 'cancelled']);

/** A task as Redis holds it right now (its BullMQ job and our fields in it). */
export interface TaskSnapshot {
  queue: string;
  taskId: string;
  state: TaskState;
  /** Deliveries so far (the attempt number of the latest one). */
  attempt: number;
  /** Most deliveries that may end with task.fail (BullMQ's `attempts`). */
  attempts: number;
  failures: number;
  losses: number;
  progress: number;
  seq: number;
  /** JSON text of the last checkpoint, or null. */
  checkpointText: string | null;
  /** JSON text of the result, or null. */
  resultText: string | null;
  error: string | null;
  worker: string | null;
  /** JSON text of the task's data. */
  dataText: string;
  backoffMs: number | null;
  priority: number;
}

interface TaskView {
  /** The mirror record on the board (`$tasks/<queue>/<taskId>`), if any. */
  mirror: StoredRecord | null;
  /** Null when BullMQ no longer has the job (never had it, or removed after finishing). */
  task: TaskSnapshot | null;
}

/** BullMQ stores what it is given with JSON.stringify; we give it JSON text, so one parse gives it back. */
function unwrapText(field: string): string | null {
  if (field === '') return null;
  try {
    const inner: unknown = JSON.parse(field);
    return typeof inner === 'string' && inner !== '' ? inner : null;
  } catch {
    return null;
  }
}

function num(field: string | undefined, fallback = 0): number {
  const n = Number(field);
  return field === undefined || field === '' || !Number.isFinite(n) ? fallback : n;
}

/** The same reading as task-lib.lua's read_task (which writes the mirror). */
export async function readTask(redis: RedisClient, board: string, queue: string, taskId: string): Promise<TaskView> {
  const k = jobKeys(board, queue, taskId);
  const r = await runScript(redis, 'task-read-5', [k.job, k.lock, k.failed, k.delayed, boardKvKey(board)], [taskId, mirrorKeys(queue, taskId).status]);
  const mirror = parseRecord(r[0]);
  if (r[1] !== '1') return { mirror, task: null };
  const [locked, failed, delayed] = [r[2] === '1', r[3] === '1', r[4] === '1'];
  const [tries, made, lost, seq, cp, progress, finishedOn, failedReason, returnvalue, worker, opts, cancel, data] = r.slice(5);
  const options = parseOpts(opts ?? '');
  let state: TaskState;
  if (finishedOn) state = cancel ? 'cancelled' : failed ? 'failed' : 'completed';
  else if (locked) state = 'active';
  else state = delayed ? 'delayed' : 'waiting';
  const attempt = num(tries);
  const completedOne = state === 'completed' ? 1 : 0;
  const failures = Math.max(0, num(made) - completedOne);
  // Deliveries not ended by a failure or completion were lost (task-activate counts them for good).
  const pending = Math.max(0, attempt - num(made) - num(lost) - (locked ? 1 : 0));
  return {
    mirror,
    task: {
      queue,
      taskId,
      state,
      attempt,
      attempts: options.attempts ?? 1,
      failures,
      losses: num(lost) + (TERMINAL_STATES.has(state) ? 0 : pending),
      progress: num(progress),
      seq: num(seq),
      checkpointText: cp ? cp : null,
      resultText: state === 'completed' ? unwrapText(returnvalue ?? '') : null,
      error: state === 'failed' || state === 'cancelled' ? failedReason || state : null,
      worker: worker || null,
      dataText: unwrapText(data ?? '') ?? 'null',
      backoffMs: options.backoff?.delay ?? null,
      priority: options.priority ?? 0,
    },
  };
}

interface JobOpts {
  attempts?: number;
  backoff?: { delay?: number };
  priority?: number;
}

function parseOpts(text: string): JobOpts {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as JobOpts) : {};
  } catch {
    return {};
  }
}
