import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisProcess, type RedisProcess } from '../helpers/redis-process.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';
import { HISTORY } from '../../server/services.js';

interface ReadyBody {
  ready: boolean;
  node: string;
  dependencies: Record<string, string>;
}

async function readyz(server: TestServer): Promise<{ status: number; body: ReadyBody }> {
  const res = await fetch(`${server.url}/readyz`);
  return { status: res.status, body: (await res.json()) as ReadyBody };
}

// A Redis of this test's own, which it may stop: the shared one is never touched.
let redis: RedisProcess;
let server: TestServer;
beforeAll(async () => {
  redis = await startRedisProcess();
  server = await startTestServer({ env: { REDIS_URL: redis.url, METRICS_CACHE_MS: '0' } });
});
afterAll(async () => {
  await server?.stop();
  await redis?.stop();
});

describe('/healthz and /readyz', () => {
  it('/readyz is 200 with Redis up and names each dependency', async () => {
    const { status, body } = await readyz(server);
    expect(status).toBe(200);
    expect(body.ready).toBe(true);
    expect(body.node).toBe(server.services.nodeId);
    expect(body.dependencies.redis).toBe('up');
    if (server.services.capabilities.get(HISTORY)) expect(body.dependencies).toHaveProperty('postgres');
    for (const state of Object.values(body.dependencies)) expect(['up', 'down', 'disabled']).toContain(state);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('/readyz is 503 naming Redis down while the node’s Redis is unreachable, and 200 again after', async () => {
    await redis.stop();
    await waitFor(async () => (await readyz(server)).status === 503, 10_000, '/readyz to turn 503');
    const { body } = await readyz(server);
    expect(body.ready).toBe(false);
    expect(body.dependencies.redis).toBe('down');
    // The process itself is alive, and still reports its metrics.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const redisErrors = async () => {
      const metrics = await fetch(`${server.url}/metrics`);
      expect(metrics.status).toBe(200);
      const errors = /^blackboard_dependency_errors_total\{dependency="redis"\} (\d+)$/m.exec(await metrics.text());
      return Number(errors?.[1] ?? 0);
    };
    // The failed reconnect attempts are counted.
    await waitFor(async () => (await redisErrors()) > 0, 10_000, 'Redis errors to be counted');

    await redis.start();
    await waitFor(async () => (await readyz(server)).status === 200, 15_000, '/readyz to turn 200 again');
    expect((await readyz(server)).body.dependencies.redis).toBe('up');
  });
});
