import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../server/board/scripts.js';
import { connectRedis } from '../../server/redis.js';
import { startRedisProcess, type RedisProcess } from '../helpers/redis-process.js';

let redis: RedisProcess;
let client: RedisClient;
let admin: Redis;

beforeAll(async () => {
  redis = await startRedisProcess();
  client = await connectRedis(redis.url, pino({ level: 'silent' }), 'test');
  admin = new Redis(redis.url);
});

afterAll(async () => {
  client?.disconnect();
  admin?.disconnect();
  await redis?.stop();
});

/** Socket reads Redis has served so far (each one takes whatever one write of a client brought). */
async function readsProcessed(): Promise<number> {
  const info = await admin.info('stats');
  return Number(/total_reads_processed:(\d+)/.exec(info)?.[1]);
}

describe('the command connection', () => {
  it('sends the commands of one turn in few writes, in the order they were issued', async () => {
    await client.del('batched');
    const before = await readsProcessed();
    // 40 commands in one turn: one write per 8 of them, not one each.
    const replies = await Promise.all(Array.from({ length: 40 }, () => client.incr('batched')));
    const after = await readsProcessed();
    expect(replies).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // Five writes of eight and the second INFO, give or take a read (one command each would be 41).
    expect(after - before).toBeLessThanOrEqual(10);
  });

  it('sends a lone command at the end of its turn, and each turn apart', async () => {
    await client.set('lone', 'a');
    const first = client.append('lone', 'b');
    await new Promise((resolve) => setImmediate(resolve));
    const second = client.append('lone', 'c');
    expect(await Promise.all([first, second])).toEqual([2, 3]);
    expect(await client.get('lone')).toBe('abc');
  });

  it('fails a command at once when the connection is down, and works again when it is back', async () => {
    await redis.stop();
    await expect(client.ping()).rejects.toThrow();
    await redis.start();
    let reply: string | null = null;
    for (let i = 0; i < 100 && reply === null; i++) {
      reply = await client.ping().catch(() => null);
      if (reply === null) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(reply).toBe('PONG');
  });
});
