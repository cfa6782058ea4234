import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revisionRows } from '../../server/board/event-codec.js';
import { BoardStore } from '../../server/board/store.js';
import { boardKeys } from '../../server/board/keys.js';
import type { RedisClient } from '../../server/board/scripts.js';
import { defineHistoryScripts } from '../../server/history/scripts.js';
import { ensureGroup, HISTORY_GROUP, readBoards } from '../../server/history/stream-reader.js';
import { connectRedis } from '../../server/redis.js';
import { startRedisProcess, type RedisProcess } from '../helpers/redis-process.js';
import { randomBoard } from '../helpers/server.js';

let redis: RedisProcess;
let client: RedisClient;
let store: BoardStore;

beforeAll(async () => {
  redis = await startRedisProcess();
  client = await connectRedis(redis.url, pino({ level: 'silent' }), 'test');
  defineHistoryScripts(client);
  store = new BoardStore(client, { retention: 1_000, keepsHistory: true });
});

afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

/**
 * The persister's reads of a board's stream, as bytes: new entries, its own pending ones, and
 * those it claims from a consumer that stopped (with the ids Redis trimmed meanwhile).
 */
describe('stream reader', () => {
  it('reads entries as their rows, and claims a dead reader’s, reporting the ones trimmed away', async () => {
    const board = randomBoard('sr');
    await store.createBoard(board);
    await ensureGroup(client, board);
    const value = JSON.stringify({ text: 'ünïcode ✓', n: 1 });
    for (let i = 1; i <= 6; i++) {
      await store.commit({ board, actorJson: '"agent"', shape: 'put', compares: [], ops: [{ kind: 'put', key: `k/${i}`, valueText: value }] });
    }
    const row = (message: string) => revisionRows(message).records[0]!;
    const read = async (consumer: string, mode: 'new' | 'own-pending' | 'claim', count = 100) =>
      (await readBoards(client, consumer, [{ board, mode, count }], 0)).results[0]!;
    // A reader that takes four and stops.
    const first = await read('dead', 'new', 4);
    expect(first.batch.entries.map((e) => [e.id, e.rev, row(e.message).key, row(e.message).value])).toEqual(
      [1, 2, 3, 4].map((rev) => [`${rev}-0`, rev, `k/${rev}`, value]),
    );
    expect(first.batch.entries[0]!.epoch).toBe(first.head!.epoch);

    expect((await read('dead', 'own-pending')).batch.entries.map((e) => e.rev)).toEqual([1, 2, 3, 4]);
    // Two of its entries are trimmed away; another reader claims the rest and is told of those two.
    await client.xdel(boardKeys(board).log, '1-0', '2-0');
    const claimed = await readBoards(client, 'alive', [{ board, mode: 'claim', count: 100 }], 0);
    expect(claimed.results[0]!.batch.entries.map((e) => [e.id, row(e.message).value])).toEqual([
      ['3-0', value],
      ['4-0', value],
    ]);
    expect(claimed.goneIds.get(board)).toEqual(['1-0', '2-0']);
    const pending = (await client.xpending(boardKeys(board).log, HISTORY_GROUP, '-', '+', 10, 'alive')) as Array<[string]>;
    expect(pending.map(([id]) => id)).toEqual(['3-0', '4-0']);
    // The new entries are still there for anyone.
    expect((await read('alive', 'new')).batch.entries.map((e) => e.rev)).toEqual([5, 6]);
  });
});
