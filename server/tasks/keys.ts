import { boardKeys, boardPrefix } from '../board/keys.js';

/**
 * Redis key names of tasks. BullMQ queues of a board are prefixed `bbq:{<board>}`: the
 * same hash tag as the board's own keys (`bb:{<board>}:…`), so a job and the board
 * live in one Redis Cluster slot and one script can read both.
 */

export function queuePrefix(board: string): string {
  return `bbq:{${board}}`;
}

/** What the task scripts touch of one BullMQ job (names as BullMQ builds them). */
interface JobKeys {
  job: string;
  lock: string;
  wait: string;
  paused: string;
  delayed: string;
  prioritized: string;
  active: string;
  completed: string;
  failed: string;
  stalled: string;
  events: string;
}

export function jobKeys(board: string, queue: string, taskId: string): JobKeys {
  const q = `${queuePrefix(board)}:${queue}:`;
  return {
    job: `${q}${taskId}`,
    lock: `${q}${taskId}:lock`,
    wait: `${q}wait`,
    paused: `${q}paused`,
    delayed: `${q}delayed`,
    prioritized: `${q}prioritized`,
    active: `${q}active`,
    completed: `${q}completed`,
    failed: `${q}failed`,
    stalled: `${q}stalled`,
    events: `${q}events`,
  };
}

/** Hash taskId → queue: task ids are unique per board, and task.get names no queue. */
export function taskIndexKey(board: string): string {
  return `${boardPrefix(board)}taskq`;
}

export function boardKvKey(board: string): string {
  return boardKeys(board).kv;
}

/** Global channel on which a cancel reaches the node whose remote worker holds the task. */
export const CANCEL_CHANNEL = 'bb:tasks:cancel';

/** The board keys that mirror a task (`$` keys: only the server writes them). */
export function mirrorKeys(queue: string, taskId: string): { status: string; checkpoint: string; spec: string } {
  const status = `$tasks/${queue}/${taskId}`;
  return { status, checkpoint: `${status}/checkpoint`, spec: `${status}/spec` };
}

export const MIRROR_PREFIX = '$tasks/';
