import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { BoardEvent } from '../../client/sdk/index.js';
import { randomBoard, startTestServer, waitFor } from '../helpers/server.js';
import { startRedisProcess } from '../helpers/redis-process.js';
import { testDatabase } from '../helpers/pg-database.js';
import { boardKeys } from '../../server/board/keys.js';
import { oldestStreamRev } from '../../server/board/feed.js';

describe('replay from Postgres', () => {
  it('a subscription from revision 1 on a stream trimmed to 100 gets every event once, in order, then the live ones', async () => {
    await using redis = await startRedisProcess();
    await using db = testDatabase();
    await using server = await startTestServer({
      env: { REDIS_URL: redis.url, DATABASE_URL: db.url, STREAM_RETENTION: '100' },
    });
    const board = randomBoard('hr');
    const writer = await server.client();
    await Promise.all(
      Array.from({ length: 10 }, async (_, w) => {
        for (let i = 0; i < 300; i++) await writer.put(board, `k${(w * 300 + i) % 50}`, w * 300 + i);
      }),
    );
    const direct = new Redis(redis.url);
    try {
      await waitFor(async () => Number(await direct.hget(boardKeys(board).meta, 'pw')) === 3_000, 30_000, 'persisted');
      await writer.put(board, 'trim', 0); // trimming happens on commit
      const oldest = (await direct.xrange(boardKeys(board).log, '-', '+', 'COUNT', 1))[0]![0];
      expect(Number(oldest.split('-')[0])).toBeGreaterThan(2_500);
    } finally {
      direct.disconnect();
    }

    // Writers keep going while the subscriber replays.
    let stop = false;
    let written = 0;
    const writers = Array.from({ length: 3 }, async (_, w) => {
      const c = await server.client();
      while (!stop) {
        await c.put(board, `live${w}`, written++);
      }
      c.close();
    });
    const reader = await server.client();
    const got: BoardEvent[] = [];
    await reader.subscribe({ board, patterns: ['**'], fromRev: 1 }, { events: (events) => got.push(...events) });
    await waitFor(() => got.length > 3_500 && written > 500, 30_000, 'replay and some live events');
    stop = true;
    await Promise.all(writers);
    const { rev } = (await writer.boards(board)).boards[0]!;
    await waitFor(() => got[got.length - 1]?.rev === rev, 20_000, 'the last live event');
    expect(got.map((e) => e.rev)).toEqual(Array.from({ length: rev }, (_, i) => i + 1));
    // What the replay delivered from Postgres is the log as history (and the stream) has it.
    const { events: logged } = await writer.history(board, { fromRev: 1, toRev: 3_000, limit: 10_000 });
    expect(got.slice(0, 3_000)).toEqual(logged);
    expect(new Set(got.slice(0, 3_000).map((e) => e.value)).size).toBe(3_000);
    reader.close();
    writer.close();
  }, 120_000);

  it('COMPACTED only when even Postgres does not have the revision', async () => {
    await using redis = await startRedisProcess();
    await using db = testDatabase();
    await using server = await startTestServer({
      env: { REDIS_URL: redis.url, DATABASE_URL: db.url, STREAM_RETENTION: '100' },
    });
    const board = randomBoard('hr');
    const writer = await server.client();
    for (let i = 0; i < 400; i++) await writer.put(board, 'k', i);
    await writer.put(board, 'k', 'done', { durability: 'durable' });
    await writer.put(board, 'k', 'trim');
    // The stream is trimmed at commits, up to the watermark Redis has been told of, which can
    // come a little after the durable ack: write elsewhere on the board until it is.
    const admin = new Redis(redis.url);
    try {
      await waitFor(
        async () => {
          await writer.put(board, 'other', 'trim');
          return ((await oldestStreamRev(admin, board)) ?? 0) > 10;
        },
        10_000,
        'the stream trimmed past revision 10',
      );
    } finally {
      admin.disconnect();
    }
    // Postgres lost the early revisions (as if history had been enabled late).
    await db.query('DELETE FROM events WHERE board = $1 AND rev < 10', [board]);
    await db.query('UPDATE boards SET first_rev = 10 WHERE name = $1', [board]);
    const err = await writer.subscribe({ board, patterns: ['k'], fromRev: 5 }, { events: () => undefined }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'COMPACTED', details: { compactRev: 9 } });
    const events: BoardEvent[] = [];
    await writer.subscribe({ board, patterns: ['k'], fromRev: 10 }, { events: (e) => events.push(...e) });
    await waitFor(() => events.length === 393, 10_000, 'replay from 10');
    expect(events[0]!.rev).toBe(10);
    writer.close();
  });
});
