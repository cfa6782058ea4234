import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlackboardClient } from '../../client/sdk/index.js';
import type { SocketFactory } from '../../client/sdk/connection.js';
import { boardKeys, CLUSTER_KEY } from '../../server/board/keys.js';
import { HISTORY_GROUP } from '../../server/history/stream-reader.js';
import { testDatabase, type TestDatabase } from '../helpers/pg-database.js';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { startRedisProcess, type RedisProcess } from '../helpers/redis-process.js';
import { CheckedWebSocket, randomBoard, waitFor } from '../helpers/server.js';

const SPLIT_LINE =
  /^blackboard: Redis belongs to cluster [0-9a-f-]{36} but database "bbsplit_[0-9a-f]+" holds the history of cluster [0-9a-f-]{36}: every node on one Redis must use the same DATABASE_URL/;

let redis: RedisProcess;
let first: TestDatabase;
let second: TestDatabase;
let node: ServerProcess;
let admin: Redis;

beforeAll(async () => {
  redis = await startRedisProcess();
  admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  first = testDatabase('bbfirst');
  second = testDatabase('bbsplit');
  node = await spawnServer(await freePort(), { REDIS_URL: redis.url, DATABASE_URL: first.url, NODE_ID: 'first-node' });
});
afterAll(async () => {
  node?.child.kill('SIGTERM');
  await node?.exited;
  admin?.disconnect();
  await first?.drop();
  await second?.drop();
  await redis?.stop();
});

/** Runs `server/main.ts` until it exits by itself (or is killed after `timeoutMs`). */
function runUntilExit(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: process.cwd(),
      env: { ...process.env, LOG_LEVEL: 'warn', HISTORY_ENABLED: 'true', HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

describe('one cluster, one history', () => {
  it('a node with another database on the same Redis exits with one line, reads no stream entry, and the first history stays complete', async () => {
    const client = new BlackboardClient({ url: `ws://127.0.0.1:${node.port}/v1/ws`, WebSocket: CheckedWebSocket as unknown as SocketFactory });
    await client.connect();
    const board = randomBoard('split');
    try {
      for (let i = 0; i < 50; i++) await client.put(board, `k${i % 7}`, { i });
      expect(await admin.get(CLUSTER_KEY)).toMatch(/^[0-9a-f-]{36}$/);

      // Writes go on while the misconfigured node starts and is refused.
      let writing = true;
      let written = 50;
      const writer = (async () => {
        while (writing) {
          await client.put(board, `k${written % 7}`, { i: written });
          written++;
        }
      })();
      const refused = await runUntilExit({ REDIS_URL: redis.url, DATABASE_URL: second.url, NODE_ID: 'split-node', PORT: String(await freePort()) });
      writing = false;
      await writer;
      const last = await client.put(board, 'last', true, { durability: 'durable' });

      expect(refused.code).toBe(1);
      const lines = refused.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(SPLIT_LINE);
      expect(refused.stdout).not.toContain('listening');

      // It never joined the board's consumer group, and its database holds no event.
      const consumers = (await admin.xinfo('CONSUMERS', boardKeys(board).log, HISTORY_GROUP)) as unknown[][];
      const names = consumers.map((fields) => String(fields[fields.indexOf('name') + 1]));
      expect(names.length).toBeGreaterThan(0);
      expect(names.every((name) => name.startsWith('first-node:'))).toBe(true);
      expect(await second.query('SELECT 1 FROM events')).toHaveLength(0);

      // The first database has every revision, 1 up to the last acknowledged one, once.
      expect(last.rev).toBe(written + 1);
      await waitFor(
        async () => {
          const rows = await first.query<{ persisted_rev: string }>('SELECT persisted_rev FROM boards WHERE name = $1', [board]);
          return Number(rows[0]?.persisted_rev ?? 0) === last.rev;
        },
        30_000,
        'the first database to hold the last revision',
      );
      const [summary] = await first.query<{ n: string; revs: string; lo: string; hi: string }>(
        'SELECT count(*) n, count(DISTINCT rev) revs, min(rev) lo, max(rev) hi FROM events WHERE board = $1',
        [board],
      );
      expect(summary).toEqual({ n: String(last.rev), revs: String(last.rev), lo: '1', hi: String(last.rev) });

      // The refused node changed nothing: the first node keeps serving, Redis keeps its cluster id.
      const [clusterRow] = await first.query<{ cluster_id: string }>('SELECT cluster_id FROM cluster');
      expect(await admin.get(CLUSTER_KEY)).toBe(clusterRow?.cluster_id);
      expect((await client.get(board, 'last')).value).toBe(true);
    } finally {
      client.close();
    }
  });

  it('a node with the same database joins, and Redis restarted empty is claimed again by the cluster', async () => {
    const [clusterRow] = await first.query<{ cluster_id: string }>('SELECT cluster_id FROM cluster');
    const peer = await spawnServer(await freePort(), { REDIS_URL: redis.url, DATABASE_URL: first.url, NODE_ID: 'peer-node' });
    try {
      const res = await fetch(`http://127.0.0.1:${peer.port}/readyz`);
      expect(res.status).toBe(200);
      await admin.del(CLUSTER_KEY, 'bb:instance');
      await waitFor(async () => (await admin.get(CLUSTER_KEY)) === clusterRow?.cluster_id, 15_000, 'the cluster id claimed again');
    } finally {
      peer.child.kill('SIGTERM');
      await peer.exited;
    }
  });
});
