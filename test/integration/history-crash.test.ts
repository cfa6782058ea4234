import { describe, expect, it } from 'vitest';
import { BlackboardClient } from '../../client/sdk/index.js';
import { CheckedWebSocket, randomBoard, waitFor } from '../helpers/server.js';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { startRedisProcess } from '../helpers/redis-process.js';
import { testDatabase } from '../helpers/pg-database.js';

describe('history across crashes', () => {
  it('a server killed with SIGKILL twice during durable writes: every acknowledged write is in Postgres exactly once', async () => {
    await using redis = await startRedisProcess();
    await using db = testDatabase();
    const port = await freePort();
    const env = { REDIS_URL: redis.url, DATABASE_URL: db.url, PERSIST_CLAIM_MS: '1000' };
    let server: ServerProcess = await spawnServer(port, env);
    const board = randomBoard('hc');
    const acked: Array<{ id: string; rev: number }> = [];
    let inflight = 0;
    const inflightAtKill: number[] = [];
    let stop = false;
    const clients = Array.from(
      { length: 4 },
      () =>
        new BlackboardClient({
          url: `ws://127.0.0.1:${port}/v1/ws`,
          WebSocket: CheckedWebSocket,
          reconnect: { baseMs: 20, capMs: 200 },
          requestTimeoutMs: 10_000,
        }),
    );
    await Promise.all(clients.map((c) => c.connect()));
    const writers = clients.map(async (client, w) => {
      for (let i = 0; !stop; i++) {
        const id = `w${w}-${i}`;
        inflight++;
        try {
          const { rev } = await client.put(board, `k${w}/${i % 20}`, { id }, { durability: 'durable' });
          acked.push({ id, rev });
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        } finally {
          inflight--;
        }
      }
    });
    try {
      for (let crash = 0; crash < 2; crash++) {
        const before = acked.length;
        await waitFor(() => acked.length >= before + 150, 30_000, 'durable writes before the crash');
        inflightAtKill.push(inflight);
        const killedPid = server.child.pid;
        server.child.kill('SIGKILL');
        await server.exited;
        server = await spawnServer(port, env);
        expect(server.child.pid).not.toBe(killedPid);
      }
      const before = acked.length;
      await waitFor(() => acked.length >= before + 150, 30_000, 'durable writes after the last restart');
    } finally {
      stop = true;
      await Promise.all(writers);
      for (const c of clients) c.close();
    }
    // Writes were in flight at each kill. The SDK resends them with their reqId after the
    // restart (or report them failed): either way each is in Postgres at most once.
    expect(inflightAtKill.every((n) => n > 0)).toBe(true);
    const ids = acked.map((a) => a.id);
    const rows = await db.query<{ id: string; rev: string; n: string }>(
      `SELECT value::json->>'id' AS id, min(rev) AS rev, count(*) AS n FROM events
       WHERE board = $1 AND value::json->>'id' = ANY($2::text[]) GROUP BY 1`,
      [board, ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const { id, rev } of acked) {
      const row = byId.get(id);
      expect(row, `acknowledged write ${id}`).toBeDefined();
      expect(Number(row!.n)).toBe(1);
      expect(Number(row!.rev)).toBe(rev);
    }
    // And the log as a whole has no gap and no repeat, once the last node caught up.
    await waitFor(
      async () => {
        const [b] = await db.query<{ p: string }>('SELECT persisted_rev p FROM boards WHERE name = $1', [board]);
        const [m] = await db.query<{ hi: string; n: string }>('SELECT max(rev) hi, count(*) n FROM events WHERE board = $1', [board]);
        return Number(b?.p) === Number(m?.hi) && Number(m?.n) === Number(m?.hi);
      },
      30_000,
      'contiguous log',
    );
    server.child.kill('SIGTERM');
    await server.exited;
  }, 180_000);
});
