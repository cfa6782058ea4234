import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BlackboardError, ErrorCode } from '../../client/sdk/index.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { randomBoard, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

// A board's lock keys share its hash slot; the index of boards with deadlines lives in
// another: everything must work on a Redis Cluster of its own.
let cluster: RedisCluster;
let server: TestServer;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
  server = await startTestServer({
    env: { REDIS_CLUSTER_NODES: cluster.nodes, HISTORY_ENABLED: 'false', ADMISSION_LAG_MS: '0', HEARTBEAT_MS: '200' },
  });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await cluster?.stop();
});

describe('locks and presence on a Redis Cluster', () => {
  it('acquire, fence, extend, release, presence and expiry all work across slots', async () => {
    const boards = [randomBoard(), randomBoard(), randomBoard()];
    const a = await server.client({ agent: 'ann' });
    const b = await server.client({ agent: 'ben' });
    for (const board of boards) {
      const grant = await a.acquireLock(board, 'l', { ttlMs: 5_000 });
      const fence = { lock: 'l', token: grant.token };
      await a.put(board, 'k', 1, { fence });
      const locked = await b.acquireLock(board, 'l', { ttlMs: 1_000, waitMs: 50 }).catch((e: BlackboardError) => e);
      expect((locked as BlackboardError).details).toEqual({ holder: 'ann' });
      await a.extendLock(board, 'l', grant.token, 5_000);
      await a.releaseLock(board, 'l', grant.token);
      expect((await a.put(board, 'k', 2, { fence }).catch((e: BlackboardError) => e)) as BlackboardError).toMatchObject({
        code: ErrorCode.FENCED,
      });
      await a.presence(board, { board });
      // A lock left to lapse is swept, with its event, by the node's timer.
      await b.acquireLock(board, 'lapse', { ttlMs: 300 });
    }
    for (const board of boards) {
      await waitFor(async () => (await a.value(board, '$locks/lapse')) === undefined, 10_000, `expiry on ${board}`);
      expect(await a.value(board, '$presence/ann')).toMatchObject({ agent: 'ann' });
    }
    a.close();
    for (const board of boards) {
      await waitFor(async () => (await b.value(board, '$presence/ann')) === undefined, 5_000, `presence on ${board}`);
    }
    b.close();
  });
});
