import { spawn, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/process-server.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';

/** Answers PONG when a Redis server listens on the port. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}

/** A Redis of this test's own, which it may stop: the shared one is never touched. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await waitFor(() => pings(port), 10_000, `redis-server on port ${port}`);
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

interface ReadyBody {
  ready: boolean;
  node: string;
  dependencies: Record<string, string>;
}

async function readyz(server: TestServer): Promise<{ status: number; body: ReadyBody }> {
  const res = await fetch(`${server.url}/readyz`);
  return { status: res.status, body: (await res.json()) as ReadyBody };
}

let redisPort: number;
let redis: ChildProcess;
let server: TestServer;
beforeAll(async () => {
  redisPort = await freePort();
  redis = await startRedis(redisPort);
  server = await startTestServer({ env: { REDIS_URL: `redis://127.0.0.1:${redisPort}` } });
});
afterAll(async () => {
  await server?.stop();
  if (redis) await stopRedis(redis);
});

describe('/healthz and /readyz', () => {
  it('/readyz is 200 with Redis up and names each dependency', async () => {
    const { status, body } = await readyz(server);
    expect(status).toBe(200);
    expect(body.ready).toBe(true);
    expect(body.node).toBe(server.services.nodeId);
    expect(body.dependencies.redis).toBe('up');
    if (server.services.history) expect(body.dependencies).toHaveProperty('postgres');
    for (const state of Object.values(body.dependencies)) expect(['up', 'down', 'disabled']).toContain(state);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('/readyz is 503 naming Redis down while the node’s Redis is unreachable, and 200 again after', async () => {
    await stopRedis(redis);
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

    redis = await startRedis(redisPort);
    await waitFor(async () => (await readyz(server)).status === 200, 15_000, '/readyz to turn 200 again');
    expect((await readyz(server)).body.dependencies.redis).toBe('up');
  });
});
