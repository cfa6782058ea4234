import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { BlackboardError, ErrorCode, type BlackboardClient, type Watch } from '../../client/sdk/index.js';
import { randomBoard, startTestServer, waitFor } from '../helpers/server.js';
import { startRedisProcess } from '../helpers/redis-process.js';
import { databaseUrl, testDatabase } from '../helpers/pg-database.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { boardKeys } from '../../server/board/keys.js';

async function board(client: BlackboardClient, name: string) {
  const { items, rev } = await client.list(name, '', { limit: 10_000 });
  return { items: items.map((i) => ({ ...i })), rev };
}

/** The watch replica in the shape `list` returns. */
function replicaItems(watch: Watch) {
  return [...watch.replica]
    .sort(([a], [b]) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1))
    .map(([key, e]) => ({ key, value: e.value, version: e.version, createRev: e.createRev, modRev: e.modRev }));
}

async function ignoreUnavailable<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof BlackboardError && (err.code === ErrorCode.UNAVAILABLE || err.code === ErrorCode.NOT_FOUND)) return null;
    throw err;
  }
}

describe('recovery after Redis loses its data', () => {
  it('FLUSHALL: values, versions and revision come back from Postgres; a watching SDK ends equal to the board', async () => {
    await using redis = await startRedisProcess();
    await using db = testDatabase();
    await using server = await startTestServer({
      env: { REDIS_URL: redis.url, DATABASE_URL: db.url, HISTORY_CHECK_MS: '200', SNAPSHOT_EVERY: '100' },
    });
    const direct = new Redis(redis.url);
    try {
      const name = randomBoard('hf');
      const writer = await server.client();
      const watcher = await server.client();
      const watch = watcher.watch(name, ['**']);
      await watch.ready();
      for (let i = 0; i < 300; i++) {
        if (i % 10 === 9) await writer.delete(name, `k${(i - 1) % 37}`).catch(() => undefined);
        else if (i % 7 === 3) await writer.patch(name, `k${i % 37}`, [{ op: 'add', path: '/p', value: i }]).catch(() => undefined);
        else await writer.put(name, `k${i % 37}`, { i, list: [i, []] });
      }
      const { rev } = await writer.put(name, 'last', true, { durability: 'durable' });
      const before = await board(writer, name);
      const epoch = await direct.hget(boardKeys(name).meta, 'epoch');
      await direct.flushall();
      await waitFor(async () => Number(await direct.hget(boardKeys(name).meta, 'rev')) === rev, 15_000, 'rebuild');
      expect(await board(writer, name)).toEqual(before);
      // Every revision came back, but the reqId records of the last minutes did not (a retry
      // of a write acknowledged before the loss would apply again): that is a new epoch.
      const rebuilt = await direct.hgetall(boardKeys(name).meta);
      expect(rebuilt.epoch).not.toBe(epoch);
      expect(Number(rebuilt.epochRev)).toBe(rev);
      const snapshots = await db.query('SELECT rev FROM snapshots WHERE board = $1', [name]);
      expect(snapshots.length).toBeGreaterThan(0);

      // Now during operation: writers keep going through a second FLUSHALL.
      let stop = false;
      const writers = Array.from({ length: 3 }, async (_, w) => {
        for (let i = 0; !stop; i++) await ignoreUnavailable(writer.put(name, `w${w}/${i % 10}`, i));
      });
      await new Promise((r) => setTimeout(r, 300));
      await direct.flushall();
      await new Promise((r) => setTimeout(r, 1_500));
      stop = true;
      await Promise.all(writers);
      await waitFor(async () => (await direct.exists(boardKeys(name).meta)) === 1, 15_000, 'second rebuild');
      await writer.put(name, 'after', 1);
      const after = await board(writer, name);
      await waitFor(() => JSON.stringify(replicaItems(watch)) === JSON.stringify(after.items), 15_000, 'replica equal to board');
      expect(watch.epoch).toBe(await direct.hget(boardKeys(name).meta, 'epoch'));
      watch.close();
    } finally {
      direct.disconnect();
    }
  }, 120_000);

  it('FLUSHALL while Postgres is unreachable after memory writes it never got: new epoch, EPOCH_CHANGED, SDK re-snapshots, no durable write lost', async () => {
    await using redis = await startRedisProcess();
    await using db = testDatabase();
    await using proxy = await startTcpProxy(5432);
    const dbUrl = databaseUrl(db.name, proxy.port);
    await using server = await startTestServer({
      env: { REDIS_URL: redis.url, DATABASE_URL: dbUrl, HISTORY_CHECK_MS: '200' },
    });
    const direct = new Redis(redis.url);
    try {
      const name = randomBoard('he');
      const writer = await server.client();
      for (let i = 0; i < 50; i++) await writer.put(name, `d${i}`, { i }, { durability: 'durable' });
      const watcher = await server.client();
      const watch = watcher.watch(name, ['**']);
      await watch.ready();
      const oldEpoch = watch.epoch;

      await proxy.close();
      for (let i = 0; i < 30; i++) await writer.put(name, `m${i}`, i);
      await waitFor(() => watch.rev === 80, 5_000, 'watcher saw the memory writes');
      await direct.flushall();
      const refused = await writer.put(name, 'x', 1).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: ErrorCode.UNAVAILABLE });

      await proxy.open();
      await waitFor(
        async () => {
          const epoch = await direct.hget(boardKeys(name).meta, 'epoch');
          return epoch !== null && epoch !== oldEpoch;
        },
        20_000,
        'rebuild with a new epoch',
      );
      const meta = await direct.hgetall(boardKeys(name).meta);
      expect(Number(meta.rev)).toBe(50);
      expect(Number(meta.epochRev)).toBe(50);

      // An old-epoch subscriber is told; the SDK replica re-snapshots by itself.
      const stale = await writer
        .subscribe({ board: name, patterns: ['**'], fromRev: 81, epoch: oldEpoch }, { events: () => undefined })
        .catch((e: unknown) => e);
      expect(stale).toMatchObject({ code: ErrorCode.EPOCH_CHANGED });
      const stale2 = await writer.subscribe({ board: name, patterns: ['**'], fromRev: 40 }, { events: () => undefined }).catch((e: unknown) => e);
      expect(stale2).toMatchObject({ code: ErrorCode.EPOCH_CHANGED });
      for (let i = 0; i < 50; i++) expect((await writer.get(name, `d${i}`)).value).toEqual({ i });
      await writer.put(name, 'new', 'epoch', { durability: 'durable' });
      const now = await board(writer, name);
      expect(now.items).toHaveLength(51);
      await waitFor(() => watch.epoch === meta.epoch && JSON.stringify(replicaItems(watch)) === JSON.stringify(now.items), 15_000, 'replica re-snapshotted');
      // History lost nothing durable, and has no revision of the lost line.
      const rows = await db.query<{ n: string; hi: string }>('SELECT count(*) n, max(rev) hi FROM events WHERE board = $1', [name]);
      expect(rows[0]).toMatchObject({ n: '51', hi: '51' });
      watch.close();
    } finally {
      direct.disconnect();
    }
  }, 120_000);
});
