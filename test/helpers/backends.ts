import { startRedisCluster, type RedisCluster } from './redis-cluster.js';
import { startTestServer, type TestServer } from './server.js';

/** Where a test server keeps its hot state: the shared Redis, or a private 3-master Redis Cluster. */
export interface Backend {
  name: string;
  start(env?: Record<string, string>): Promise<TestServer>;
  stop(): Promise<void>;
}

export function coreBackends(): Backend[] {
  let single: TestServer | null = null;
  let cluster: RedisCluster | null = null;
  let clustered: TestServer | null = null;
  return [
    {
      name: 'single Redis',
      async start(env = {}) {
        single = await startTestServer({ env });
        return single;
      },
      async stop() {
        await single?.stop();
      },
    },
    {
      name: '3-master Redis Cluster',
      async start(env = {}) {
        cluster = await startRedisCluster(3);
        clustered = await startTestServer({ env: { ...env, REDIS_CLUSTER_NODES: cluster.nodes } });
        return clustered;
      },
      async stop() {
        await clustered?.stop();
        await cluster?.stop();
      },
    },
  ];
}
