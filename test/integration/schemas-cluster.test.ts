import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BlackboardError, ErrorCode } from '../../client/sdk/index.js';
import { boardKeys } from '../../server/board/keys.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { randomBoard, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

// A board's schema keys share its hash slot; the set of boards due for a pass and the
// change channel do not: typed boards must work on a Redis Cluster of their own.
let cluster: RedisCluster;
let nodes: TestServer[];
let direct: Cluster;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
  const env = { REDIS_CLUSTER_NODES: cluster.nodes, HISTORY_ENABLED: 'false' };
  nodes = [await startTestServer({ env }), await startTestServer({ env })];
  direct = new Cluster(cluster.nodes.split(',').map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })));
}, 60_000);
afterAll(async () => {
  direct?.disconnect();
  for (const node of nodes ?? []) await node.stop();
  await cluster?.stop();
});

describe('typed boards on a Redis Cluster', () => {
  it('validation, recorded versions, change notices and the migration pass work across slots', async () => {
    const boards = [randomBoard('sk'), randomBoard('sk'), randomBoard('sk')];
    const admin = await nodes[0]!.client({ agent: 'admin' });
    const writer = await nodes[1]!.client();
    for (const board of boards) {
      await admin.setSchema(board, 'n/*', { type: 'object', required: ['v'] }, 1);
      const refused = await writer.put(board, 'n/1', { w: 1 }).catch((e: unknown) => e);
      expect((refused as BlackboardError).code).toBe(ErrorCode.INVALID);
      const { rev } = await writer.put(board, 'n/1', { v: 1 });
      expect(await direct.hget(boardKeys(board).schemaVersions, 'n/1')).toBe(`${rev}:1`);
      await admin.setSchema(board, 'n/*', { type: 'object', required: ['value'] }, 2, {
        migration: [{ op: 'rename', from: '/v', path: '/value' }],
      });
    }
    for (const board of boards) {
      await waitFor(async () => (await writer.get(board, 'n/1')).version === 2, 20_000, `migration of ${board}`);
      expect(await writer.get(board, 'n/1')).toMatchObject({ value: { value: 1 }, schemaVersion: 2 });
      await writer.delete(board, 'n/1');
      expect(await direct.hget(boardKeys(board).schemaVersions, 'n/1')).toBeNull();
    }
  });
});
