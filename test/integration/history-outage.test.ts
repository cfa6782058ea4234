import { describe, expect, it } from 'vitest';
import { BlackboardError, ErrorCode } from '../../client/sdk/index.js';
import { randomBoard, startTestServer, waitFor } from '../helpers/server.js';
import { startRedisProcess } from '../helpers/redis-process.js';
import { databaseUrl, testDatabase } from '../helpers/pg-database.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

async function readyz(url: string): Promise<{ status: number; body: { dependencies: Record<string, string> } }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as { dependencies: Record<string, string> } };
}

describe('outages', () => {
  it('Postgres unreachable for a while: writes continue, the backlog is bounded, and history catches up complete', async () => {
    await using redis = await startRedisProcess();
    await using db = testDatabase();
    await using proxy = await startTcpProxy(5432);
    await using server = await startTestServer({
      env: {
        REDIS_URL: redis.url,
        DATABASE_URL: databaseUrl(db.name, proxy.port),
        MAX_UNPERSISTED: '300',
        DURABLE_TIMEOUT_MS: '300',
      },
    });
    const name = randomBoard('ho');
    const client = await server.client();
    for (let i = 0; i < 100; i++) await client.put(name, `k${i % 10}`, i);
    await client.put(name, 'sync', 0, { durability: 'durable' });
    const persisted = async () => Number((await db.query<{ p: string }>('SELECT persisted_rev p FROM boards WHERE name = $1', [name]))[0]?.p ?? 0);
    expect(await persisted()).toBe(101);

    await proxy.close();
    await waitFor(async () => (await readyz(server.url)).body.dependencies.postgres === 'down', 10_000, 'postgres down');
    expect((await readyz(server.url)).status).toBe(200);
    for (let i = 0; i < 150; i++) await client.put(name, `k${i % 10}`, 1_000 + i);
    const timedOut = await client.put(name, 'durable', 'waits', { durability: 'durable' }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(BlackboardError);
    expect(timedOut).toMatchObject({ code: ErrorCode.TIMEOUT, details: { rev: 252 } });
    // The stream holds at most MAX_UNPERSISTED revisions above the watermark; then writes are refused.
    let refusedAt = 0;
    for (let i = 0; i < 400 && refusedAt === 0; i++) {
      await client.put(name, 'fill', i).catch((err: unknown) => {
        if (!(err instanceof BlackboardError) || err.code !== ErrorCode.UNAVAILABLE) throw err;
        refusedAt = i;
      });
    }
    const rev = (await client.get(name, 'fill')).rev;
    expect(refusedAt).toBeGreaterThan(0);
    expect(rev).toBe(101 + 300);

    await proxy.open();
    await waitFor(async () => (await persisted()) === rev, 20_000, 'backlog drained');
    const [summary] = await db.query<{ n: string; lo: string; hi: string }>(
      'SELECT count(DISTINCT rev) n, min(rev) lo, max(rev) hi FROM events WHERE board = $1',
      [name],
    );
    expect(summary).toEqual({ n: String(rev), lo: '1', hi: String(rev) });
    const durable = await db.query('SELECT value FROM events WHERE board = $1 AND rev = 252', [name]);
    expect(durable).toEqual([{ value: '"waits"' }]);
    expect((await readyz(server.url)).body.dependencies.postgres).toBe('up');
    expect((await client.put(name, 'again', 1, { durability: 'durable' })).rev).toBe(rev + 1);
    const { events } = await client.history(name, { fromRev: 250, toRev: 253 });
    expect(events.map((e) => e.rev)).toEqual([250, 251, 252, 253]);
    client.close();
  });

  it('Redis down: past state and history answer from Postgres (degraded), writes are UNAVAILABLE; it recovers when Redis returns', async () => {
    await using redis = await startRedisProcess();
    await using db = testDatabase();
    await using server = await startTestServer({
      env: { REDIS_URL: redis.url, DATABASE_URL: db.url, HISTORY_CHECK_MS: '200' },
    });
    const name = randomBoard('hx');
    const client = await server.client();
    for (let i = 1; i <= 40; i++) await client.put(name, `k${i % 4}`, i, { durability: i === 40 ? 'durable' : 'memory' });
    const at20 = await client.get(name, 'k0', { atRev: 20 });
    const list30 = await client.list(name, 'k', { atRev: 30 });

    await redis.stop();
    await waitFor(async () => (await readyz(server.url)).status === 503, 10_000, 'not ready');
    expect(await client.get(name, 'k0', { atRev: 20 })).toEqual({ ...at20, degraded: true });
    expect(await client.list(name, 'k', { atRev: 30 })).toEqual({ ...list30, degraded: true });
    const history = await client.history(name, { key: 'k1', fromRev: 30 });
    expect(history).toMatchObject({ degraded: true, more: false });
    expect(history.events.map((e) => e.value)).toEqual([33, 37]);
    const write = await client.put(name, 'k0', 'no').catch((e: unknown) => e);
    expect(write).toMatchObject({ code: ErrorCode.UNAVAILABLE });

    // Redis comes back empty (no persistence): the board is rebuilt from Postgres.
    await redis.start();
    await waitFor(
      async () => {
        try {
          return (await client.get(name, 'k0')).value === 40;
        } catch {
          return false;
        }
      },
      20_000,
      'board rebuilt',
    );
    expect((await client.put(name, 'k0', 41)).rev).toBe(41);
    expect((await readyz(server.url)).status).toBe(200);
    client.close();
  });
});
