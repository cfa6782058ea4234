import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type BlackboardError } from '../../client/sdk/index.js';
import { DEADLINE_BOARDS, boardKeys } from '../../server/board/keys.js';
import { DeadlineSweeper } from '../../server/deadlines/sweeper.js';
import { randomBoard, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { ADMISSION_LAG_MS: '0' } });
});
afterAll(async () => {
  await server?.stop();
});

describe('expiry of locks', () => {
  it('lapsed locks on many boards are deleted by the sweep, with events, and leave the board index', async () => {
    const boards = Array.from({ length: 20 }, () => randomBoard());
    const holder = await server.client({ agent: 'idler' });
    const grants = await Promise.all(boards.map((board) => holder.acquireLock(board, 'x', { ttlMs: 1_500, waitMs: 5_000 })));
    const { redis } = server.services;
    // Each board is indexed no later than its deadline.
    for (const [i, board] of boards.entries()) {
      expect(Number(await redis.zscore(DEADLINE_BOARDS, board))).toBeLessThanOrEqual(grants[i]!.expiresAt);
    }
    // The holder stays connected and silent: only the sweep can remove its locks.
    await waitFor(async () => (await Promise.all(boards.map((b) => holder.value(b, '$locks/x')))).every((v) => v === undefined), 10_000, 'the sweep');
    for (const [i, board] of boards.entries()) {
      const { events } = await holder.history(board, { key: '$locks/x' }).catch(() => ({ events: [] }));
      if (events.length > 0) expect(events.at(-1)).toMatchObject({ type: 'delete', actor: '$server' });
      expect(await redis.hget(boardKeys(board).locks, 'x')).toBeNull();
      const code = await holder.extendLock(board, 'x', grants[i]!.token, 1_000).catch((e: BlackboardError) => e.code);
      expect(code).toBe(ErrorCode.FENCED);
    }
    await waitFor(
      async () => (await Promise.all(boards.map((b) => redis.zscore(DEADLINE_BOARDS, b)))).every((s) => s === null),
      5_000,
      'the index to forget the boards',
    );
    holder.close();
  });

  it('a sweep racing a new lock never leaves that lock’s deadline out of the board index', async () => {
    const board = randomBoard();
    const client = await server.client({ agent: 'racer' });
    await client.put(board, 'k', 1);
    const { redis } = server.services;
    // Not due for 10 s, so no node's sweeper touches it while the race is replayed by hand.
    const seen = String(Date.now() + 10_000);
    await redis.zadd(DEADLINE_BOARDS, seen, board);
    const sweeper = new DeadlineSweeper(server.services, { intervalMs: 60_000 });

    // 1. The sweep reads the board: nothing left, so it means to drop the board's entry.
    const { next } = await sweeper.sweepOnly(board);
    expect(next).toBe('-1');
    // 2. Meanwhile a lock is taken: its deadline is later than the entry, which stays as it is.
    const grant = await client.acquireLock(board, 'late', { ttlMs: 60_000 });
    expect(await redis.zscore(DEADLINE_BOARDS, board)).toBe(seen);
    // 3. The sweep moves the entry as planned, then looks again and covers the new deadline.
    await sweeper.reschedule(board, seen, next);
    expect(Number(await redis.zscore(DEADLINE_BOARDS, board))).toBe(grant.expiresAt);
    // A sweeper that read an older score changes nothing.
    await sweeper.reschedule(board, seen, '-1');
    expect(Number(await redis.zscore(DEADLINE_BOARDS, board))).toBe(grant.expiresAt);

    await client.releaseLock(board, 'late', grant.token);
    await redis.zrem(DEADLINE_BOARDS, board);
    client.close();
  });
});
