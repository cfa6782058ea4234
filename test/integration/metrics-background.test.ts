import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnServer, stopServer, type ServerProcess } from '../helpers/process-server.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { startRedisProcess, type RedisProcess } from '../helpers/redis-process.js';
import { randomBoard, waitFor } from '../helpers/server.js';

/** /metrics against a Redis of its own, so the boards it counts are exactly the test's. */

const METRICS_TOKEN = randomBytes(16).toString('hex');

let redis: RedisProcess;
let admin: Redis;
let proc: ServerProcess;
let base: string;
beforeAll(async () => {
  redis = await startRedisProcess();
  admin = new Redis(redis.url);
  proc = await spawnServer(await freePort(), {
    HISTORY_ENABLED: 'false',
    REDIS_URL: redis.url,
    METRICS_TOKEN,
    METRICS_REFRESH_MS: '1000',
    METRICS_MAX_BOARDS: '5',
  });
  base = `http://127.0.0.1:${proc.port}`;
});
afterAll(async () => {
  await stopServer(proc);
  admin?.disconnect();
  await redis?.stop();
});

const scrape = (token: string | null = METRICS_TOKEN) => fetch(`${base}/metrics`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });

async function gauge(name: string, labels = ''): Promise<number | undefined> {
  const text = await (await scrape()).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** Calls Redis has served for each of these commands so far. */
async function commandCalls(...commands: string[]): Promise<number[]> {
  const info = await admin.info('commandstats');
  return commands.map((c) => Number(new RegExp(`^cmdstat_${c}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0));
}

describe('/metrics', () => {
  it('with METRICS_TOKEN set, a scrape without that bearer token is 401', async () => {
    expect((await scrape(null)).status).toBe(401);
    expect((await scrape('wrong-token-of-some-length')).status).toBe(401);
    const ok = await scrape();
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('blackboard_connections');
  });

  it('per-board figures are counted in the background over at most METRICS_MAX_BOARDS boards', async () => {
    // Seven boards, each with one lock held: only the first five of the boards index are counted.
    const holder = await RawSocket.open(`ws://127.0.0.1:${proc.port}/v1/ws`);
    const boards = Array.from({ length: 7 }, () => randomBoard('mb'));
    for (const board of boards) expect((await holder.call('lock.acquire', { board, name: 'l', ttlMs: 60_000 })).ok).toBe(true);
    expect((await holder.call('task.enqueue', { board: boards.sort()[0]!, queue: 'q', data: 1, delayMs: 600_000 })).ok).toBe(true);
    await waitFor(async () => (await gauge('blackboard_locks_held')) === 5, 15_000, 'the count of the first five boards');
    await waitFor(async () => (await gauge('blackboard_tasks', '{state="delayed"}')) === 1, 15_000, 'the delayed task');
    expect(await gauge('blackboard_board_figures_age_seconds')).toBeLessThan(60);
    holder.close();
  });

  it('a scrape walks no board: twenty scrapes at once send Redis no per-board command', async () => {
    await waitFor(async () => (await gauge('blackboard_board_figures_age_seconds')) !== undefined, 15_000, 'a first count');
    const commands = ['hvals', 'zrangebylex', 'hlen', 'zcard', 'llen'];
    // Background counts run every second: measure between two of them (a window a count fell into is measured again).
    for (let attempt = 0; ; attempt++) {
      const ageBefore = (await gauge('blackboard_board_figures_age_seconds')) ?? 0;
      const before = await commandCalls(...commands);
      const scrapes = await Promise.all(Array.from({ length: 20 }, () => scrape()));
      for (const s of scrapes) expect(s.status).toBe(200);
      const after = await commandCalls(...commands);
      const ageAfter = (await gauge('blackboard_board_figures_age_seconds')) ?? 0;
      if (ageAfter < ageBefore && attempt < 20) continue;
      expect(after).toEqual(before);
      break;
    }
  });
});
