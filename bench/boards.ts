import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { BOARDS_INDEX, DEADLINE_BOARDS, boardPrefix } from '../server/board/keys.js';
import { queuePrefix } from '../server/tasks/keys.js';

/**
 * Every board the benchmark creates is named here and remembered, so that a run against
 * a Redis shared with others removes exactly its own keys afterwards and nothing else.
 */
const runId = randomBytes(3).toString('hex');
const created = new Set<string>();

export function benchBoard(tag: string): string {
  const board = `bench-${runId}-${tag}-${randomBytes(4).toString('hex')}`;
  created.add(board);
  return board;
}

export function boardsCreated(): number {
  return created.size;
}

async function deleteMatching(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Removes every key of the boards this run created (board keys, task queues, index entries). */
export async function removeBenchBoards(redis: Redis): Promise<number> {
  let deleted = 0;
  for (const board of created) {
    // Board names are [a-z0-9_-] only, so the patterns need no glob escaping.
    deleted += await deleteMatching(redis, `${boardPrefix(board)}*`);
    deleted += await deleteMatching(redis, `${queuePrefix(board)}:*`);
    await redis.zrem(BOARDS_INDEX, board);
    await redis.zrem(DEADLINE_BOARDS, board);
  }
  created.clear();
  return deleted;
}

/** The board names Redis knows of now. */
export async function knownBoards(redis: Redis): Promise<Set<string>> {
  return new Set(await redis.zrange(BOARDS_INDEX, '0', '-1'));
}

/**
 * Sections written elsewhere name their boards themselves (`bench-…`): the ones that
 * appeared while such a section ran are this run's, and are removed with the others.
 */
export async function adoptNewBoards(redis: Redis, before: Set<string>): Promise<void> {
  for (const board of await knownBoards(redis)) if (!before.has(board) && board.startsWith('bench-')) created.add(board);
}
