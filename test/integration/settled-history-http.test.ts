import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEvent } from '../../client/sdk/index.js';
import { testDatabase, type TestDatabase } from '../helpers/pg-database.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { startRedisProcess, type RedisProcess } from '../helpers/redis-process.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

/** PROTOCOL.md, "Settled after v1 shipped": history after an acknowledgement, and HTTP. */

describe('settled rules: history', () => {
  let redis: RedisProcess;
  let db: TestDatabase;
  let server: TestServer;
  beforeAll(async () => {
    redis = await startRedisProcess();
    db = testDatabase();
    // Small persister batches, so that Postgres holds part of what was written while the rest is still in Redis.
    server = await startTestServer({ env: { REDIS_URL: redis.url, DATABASE_URL: db.url, PERSIST_BATCH: '7' } });
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
    await redis?.stop();
  });

  it('After any acknowledgement at revision R, history holds every revision ≤ R (memory writes included)', async () => {
    const board = randomBoard();
    const clients = await Promise.all(Array.from({ length: 4 }, () => server.client()));
    const checks: Array<Promise<void>> = [];
    const missing: string[] = [];
    await Promise.all(
      clients.map(async (client, w) => {
        for (let i = 0; i < 60; i++) {
          const key = `w${w}/k${i % 5}`;
          const { rev } = i % 10 === 3 ? await client.txn(board, { compare: [], ops: [{ op: 'put', key, value: i }] }) : await client.put(board, key, i);
          // Asked at once, on another connection, while the persister is mid-way.
          checks.push(
            (async () => {
              const reader = clients[(w + 1) % clients.length]!;
              const atR = await reader.history(board, { fromRev: rev, toRev: rev });
              if (!atR.events.some((e) => e.rev === rev)) missing.push(`rev ${rev}`);
              const byKey = await reader.history(board, { key, fromRev: rev, toRev: rev });
              if (!byKey.events.some((e) => e.rev === rev && e.key === key)) missing.push(`rev ${rev} of ${key}`);
            })(),
          );
        }
      }),
    );
    await Promise.all(checks);
    expect(missing).toEqual([]);
    const all: BoardEvent[] = [];
    for await (const event of clients[0]!.iterateHistory(board)) all.push(event);
    expect(all.map((e) => e.rev)).toEqual(Array.from({ length: 240 }, (_, i) => i + 1));
    for (const client of clients) client.close();
  });
});

describe('settled rules: HTTP', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('HTTP: /readyz answers {ready, node, dependencies: {redis, postgres, …}}, each up, down or disabled', async () => {
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ready: boolean; node: string; dependencies: Record<string, string> };
    expect(Object.keys(body).sort()).toEqual(['dependencies', 'node', 'ready']);
    expect(body.ready).toBe(true);
    expect(body.node).toBe(server.services.nodeId);
    expect(body.dependencies.redis).toBe('up');
    // History is off on this node: Postgres is named all the same.
    expect(body.dependencies.postgres).toBe('disabled');
    for (const state of Object.values(body.dependencies)) expect(['up', 'down', 'disabled']).toContain(state);
  });

  it('HTTP: an upgrade refused because the node is shutting down is 503 (403 is only for a disallowed Origin)', async () => {
    // A connection that does not answer the close handshake holds the shutdown open for a while.
    const lingering = await RawSocket.open(server.wsUrl);
    lingering.ws.pause();
    const socket = connect(server.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const response = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\r\n')) resolve(text.split('\r\n')[0]!);
      });
      socket.on('close', () => resolve(text.split('\r\n')[0] ?? ''));
    });
    // The request head is under way when the node starts to stop, and completes after.
    socket.write(
      `GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n',
    );
    await new Promise((r) => setTimeout(r, 100));
    const stopping = server.stop();
    socket.write('\r\n');
    expect(await response).toMatch(/^HTTP\/1\.1 503 /);
    socket.destroy();
    await stopping;
  });
});
