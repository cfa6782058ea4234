import { jobKeys, taskIndexKey } from '../tasks/keys.js';
import type { Services } from '../services.js';
import type { GaugeSample } from './registry.js';

/** A board whose task index is larger than this is not re-read for new queue names. */
const MAX_INDEX_READ = 100_000;
/** Queues of one board whose sets are read at most: a board with more is counted in part. */
const MAX_QUEUES_PER_BOARD = 100;
const BATCH = 500;

interface KnownQueues {
  /** Size of the board's task index when its queue names were last read. */
  indexSize: number;
  queues: string[];
}

/**
 * Tasks by state, counted from the BullMQ sets of every queue of the given boards.
 * Queue names come from each board's task index (taskId → queue); they are cached and
 * re-read only when the index grew. `failed` includes cancelled tasks: BullMQ keeps
 * both in its failed set, and telling them apart would mean reading every job.
 */
export function taskCounter(services: Services): (boards: readonly string[]) => Promise<GaugeSample> {
  const known = new Map<string, KnownQueues>();
  return async (boards) => {
    const { redis } = services;
    const totals = { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0 };
    const sizes: number[] = [];
    for (let i = 0; i < boards.length; i += BATCH) {
      sizes.push(...(await Promise.all(boards.slice(i, i + BATCH).map((board) => redis.hlen(taskIndexKey(board))))));
    }
    for (const [i, board] of boards.entries()) {
      const indexSize = sizes[i] ?? 0;
      if (indexSize === 0) continue;
      let entry = known.get(board);
      if (!entry || (entry.indexSize !== indexSize && indexSize <= MAX_INDEX_READ)) {
        const queues = [...new Set(await redis.hvals(taskIndexKey(board)))].slice(0, MAX_QUEUES_PER_BOARD);
        entry = { indexSize, queues };
        known.set(board, entry);
      }
      for (const queue of entry.queues) {
        const k = jobKeys(board, queue, '');
        const [wait, paused, prioritized, delayed, active, completed, failed] = await Promise.all([
          redis.llen(k.wait),
          redis.llen(k.paused),
          redis.zcard(k.prioritized),
          redis.zcard(k.delayed),
          redis.llen(k.active),
          redis.zcard(k.completed),
          redis.zcard(k.failed),
        ]);
        totals.waiting += wait + paused + prioritized;
        totals.delayed += delayed;
        totals.active += active;
        totals.completed += completed;
        totals.failed += failed;
      }
    }
    // Boards gone from the index are forgotten, so the cache stays as small as the walk.
    if (known.size > boards.length) {
      const current = new Set(boards);
      for (const board of known.keys()) if (!current.has(board)) known.delete(board);
    }
    return Object.entries(totals).map(([state, value]) => ({ labels: { state }, value }));
  };
}
