import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlackboardError, ErrorCode } from '../../client/sdk/index.js';
import { randomBoard, startTestServer, waitFor, type TestServer } from '../helpers/server.js';
import { startRedisProcess, type RedisProcess } from '../helpers/redis-process.js';
import { testDatabase, type TestDatabase } from '../helpers/pg-database.js';
import { HISTORY } from '../../server/services.js';

let redis: RedisProcess;
let db: TestDatabase;
let nodes: TestServer[];

beforeAll(async () => {
  redis = await startRedisProcess();
  db = testDatabase();
  const env = { REDIS_URL: redis.url, DATABASE_URL: db.url, PERSIST_BATCH: '200' };
  // Two nodes on one Redis and one database: their persisters share the consumer group.
  nodes = [await startTestServer({ env }), await startTestServer({ env })];
});
afterAll(async () => {
  for (const node of nodes ?? []) await node.stop();
  await db?.drop();
  await redis?.stop();
});

async function persistedRev(board: string): Promise<number> {
  const rows = await db.query<{ persisted_rev: string }>('SELECT persisted_rev FROM boards WHERE name = $1', [board]);
  return Number(rows[0]?.persisted_rev ?? 0);
}

describe('history persister', () => {
  it('10,000 writes by 8 concurrent writers on two nodes land in Postgres exactly once, revisions 1..N without gap', async () => {
    const boards = [randomBoard('hp'), randomBoard('hp')];
    const clients = await Promise.all(Array.from({ length: 8 }, (_, i) => nodes[i % 2]!.client()));
    const perWriter = 1_250;
    await Promise.all(
      clients.map(async (client, w) => {
        for (let i = 0; i < perWriter; i++) {
          const board = boards[(w + i) % 2]!;
          if (i % 50 === 7) {
            await client.txn(board, {
              compare: [],
              ops: [
                { op: 'put', key: `w${w}/a`, value: i },
                { op: 'put', key: `w${w}/b`, value: [i] },
              ],
            });
          } else {
            await client.put(board, `w${w}/k${i % 40}`, { w, i });
          }
        }
      }),
    );
    const revs = await Promise.all(boards.map(async (b) => (await clients[0]!.boards(b)).boards[0]!.rev));
    expect(revs[0]! + revs[1]!).toBe(8 * perWriter);
    for (const [i, board] of boards.entries()) {
      await waitFor(async () => (await persistedRev(board)) === revs[i], 90_000, `board ${board} persisted`);
      const [summary] = await db.query<{ n: string; revs: string; lo: string; hi: string }>(
        'SELECT count(*) n, count(DISTINCT rev) revs, min(rev) lo, max(rev) hi FROM events WHERE board = $1',
        [board],
      );
      expect(Number(summary!.revs)).toBe(revs[i]);
      expect(Number(summary!.lo)).toBe(1);
      expect(Number(summary!.hi)).toBe(revs[i]);
      // Every (rev, key) once; txns add one row per extra key.
      const txns = await db.query<{ n: string }>('SELECT count(*) n FROM (SELECT rev FROM events WHERE board = $1 GROUP BY rev HAVING count(*) = 2) t', [
        board,
      ]);
      expect(Number(summary!.n)).toBe(revs[i]! + Number(txns[0]!.n));
      // What Postgres says is the latest of each key is what Redis holds.
      const listed = await clients[1]!.list(board, '', { limit: 10_000 });
      const latest = await db.query<{ key: string; version: string; value: string; rev: string }>(
        `SELECT DISTINCT ON (key) key, version, value, rev FROM events WHERE board = $1 ORDER BY key, rev DESC`,
        [board],
      );
      expect(latest.map((r) => [r.key, Number(r.version), JSON.parse(r.value), Number(r.rev)])).toEqual(
        listed.items.map((item) => [item.key, item.version, item.value, item.modRev]),
      );
    }
    // The two persisters share the work through the consumer group, not necessarily evenly: a
    // quick one may take every entry. Together they counted the batches they committed.
    const batches = nodes.map((node) => node.services.capabilities.get(HISTORY)?.stats().batches ?? 0);
    expect(batches[0]! + batches[1]!).toBeGreaterThan(0);
    for (const c of clients) c.close();
  }, 180_000);

  it('a durable write is in Postgres (and in history) when acknowledged', async () => {
    const board = randomBoard('hd');
    const client = await nodes[0]!.client();
    for (let i = 1; i <= 20; i++) {
      const { rev } = await client.put(board, 'k', i, { durability: 'durable' });
      expect(await persistedRev(board)).toBeGreaterThanOrEqual(rev);
      const rows = await db.query('SELECT 1 FROM events WHERE board = $1 AND rev = $2', [board, rev]);
      expect(rows).toHaveLength(1);
    }
    const { events } = await client.history(board, { key: 'k', fromRev: 18 });
    expect(events.map((e) => e.value)).toEqual([18, 19, 20]);
    client.close();
  });

  it('get with atRev returns exactly what get returned at that revision, for random revisions of a random run', async () => {
    const board = randomBoard('ht');
    const client = await nodes[1]!.client();
    const keys = Array.from({ length: 12 }, (_, i) => `d${i % 3}/k${i}`);
    const seen = new Map<number, { key: string; got: unknown }>();
    const listings = new Map<number, unknown>();
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const read = (key: string, atRev?: number) =>
      client.get(board, key, atRev === undefined ? {} : { atRev }).catch((err: unknown) => {
        if (err instanceof BlackboardError && err.code === ErrorCode.NOT_FOUND) return 'NOT_FOUND';
        throw err;
      });
    for (let step = 0; step < 400; step++) {
      const key = keys[rand(keys.length)]!;
      const choice = rand(10);
      let rev: number;
      try {
        if (choice < 5) rev = (await client.put(board, key, { step, big: 12345678901234567890n.toString(), list: [] })).rev;
        else if (choice < 7) rev = (await client.patch(board, key, [{ op: 'add', path: '/p', value: step }])).rev;
        else if (choice < 9) rev = (await client.delete(board, key)).rev;
        else
          rev = (
            await client.txn(board, {
              compare: [],
              ops: [
                { op: 'put', key, value: step },
                { op: 'put', key: `${key}/t`, value: null },
              ],
            })
          ).rev;
      } catch (err) {
        if (err instanceof BlackboardError && err.code === ErrorCode.NOT_FOUND) continue;
        throw err;
      }
      const probe = keys[rand(keys.length)]!;
      seen.set(rev, { key: probe, got: await read(probe) });
      if (rev % 25 === 0) listings.set(rev, await client.list(board, 'd1/', { limit: 100 }));
    }
    const revisions = [...seen.keys()];
    expect(revisions.length).toBeGreaterThan(150);
    for (let i = 0; i < 120; i++) {
      const rev = revisions[rand(revisions.length)]!;
      const { key, got } = seen.get(rev)!;
      expect(await read(key, rev)).toEqual(got);
    }
    for (const [rev, listing] of listings) expect(await client.list(board, 'd1/', { atRev: rev, limit: 100 })).toEqual(listing);
    // Paging through a past listing gives the same keys as one page.
    const [someRev, full] = [...listings][0]!;
    const first = await client.list(board, 'd1/', { atRev: someRev, limit: 1 });
    if ((full as { items: unknown[] }).items.length > 1) expect(first.more).toBe(true);
    client.close();
  });
});
