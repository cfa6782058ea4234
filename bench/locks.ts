import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import Redlock from 'redlock';
import { WebSocket } from 'ws';
import { BlackboardClient } from '../client/sdk/index.js';
import { admitted } from './context.js';
import { countRedisCalls } from './redis-calls.js';
import { alternate, round, runConcurrent, throughputFigures, type Figure } from './stats.js';

export interface LockBenchOptions {
  /** A running server, `http://host:port`. */
  url: string;
  /** The Redis that server uses: the raw baseline runs on it too. */
  redisUrl: string;
  /** Scales the amount of work (1: a few seconds per figure). */
  scale: number;
}

const TTL_MS = 30_000;
const tag = () => randomBytes(6).toString('hex');

/**
 * Locks through the whole server beside plain Redlock on the same Redis, in the same run:
 * acquire + release cycles per second at 1 and 64 in flight (each cycle takes a lock
 * nobody else holds, so this is the cost of a lock, not of waiting for one), then what
 * a `fence` costs a put (fenced against unfenced puts through the server).
 */
export async function benchLocks(options: LockBenchOptions): Promise<Figure[]> {
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  const redlock = new Redlock([redis], { retryCount: 0 });
  const client = new BlackboardClient({ url: options.url, agent: 'bench-locks', WebSocket });
  await client.connect();
  const figures: Figure[] = [];
  try {
    for (const [inFlight, total] of [
      [1, Math.round(1_000 * options.scale)],
      [64, Math.round(10_000 * options.scale)],
    ] as const) {
      // The raw resource keys share a hash tag, as the server's do.
      const rawTag = tag();
      const board = `bench-locks-${tag()}`;
      await admitted(() => client.put(board, 'warmup', 1));
      const { measured, baseline: raw } = await alternate(
        total,
        inFlight,
        async (i) => {
          const { token } = await client.acquireLock(board, `l${i}`, { ttlMs: TTL_MS });
          await client.releaseLock(board, `l${i}`, token);
        },
        async (i) => {
          const lock = await redlock.acquire([`bench:{${rawTag}}:lock:l${i}`], TTL_MS);
          await lock.release();
        },
      );
      figures.push(...throughputFigures(`lock acquire+release, ${inFlight} in flight`, measured, raw, 'raw Redlock acquire+release (ioredis, same Redis)'));
      // The floor: a cycle is two revisions, as are two puts in a row through the server.
      const { measured: cycles, baseline: puts } = await alternate(
        total,
        inFlight,
        async (i) => {
          const { token } = await client.acquireLock(board, `f${i}`, { ttlMs: TTL_MS });
          await client.releaseLock(board, `f${i}`, token);
        },
        async (i) => {
          await admitted(() => client.put(board, `two/${i % 100}`, 1));
          await admitted(() => client.put(board, `two/${i % 100}`, 2));
        },
      );
      figures.push(
        ...throughputFigures(
          `lock cycle against two puts, ${inFlight} in flight`,
          cycles,
          puts,
          'two puts in a row through the same server',
          inFlight === 64 ? '≥ 0.8' : undefined,
        ),
      );
    }

    // What a cycle costs Redis at 64 in flight: commands sent (however pipelined) per cycle.
    const counted = 640;
    const callsBoard = `bench-locks-${tag()}`;
    await admitted(() => client.put(callsBoard, 'warmup', 1));
    const ours = await countRedisCalls(options.redisUrl, () =>
      runConcurrent(counted, 64, async (i) => {
        const { token } = await client.acquireLock(callsBoard, `c${i}`, { ttlMs: TTL_MS });
        await client.releaseLock(callsBoard, `c${i}`, token);
      }),
    );
    const rawTag = tag();
    const theirs = await countRedisCalls(options.redisUrl, () =>
      runConcurrent(counted, 64, async (i) => {
        const lock = await redlock.acquire([`bench:{${rawTag}}:lock:c${i}`], TTL_MS);
        await lock.release();
      }),
    );
    const twoPuts = await countRedisCalls(options.redisUrl, () =>
      runConcurrent(counted, 64, async (i) => {
        await admitted(() => client.put(callsBoard, `two/${i % 100}`, 1));
        await admitted(() => client.put(callsBoard, `two/${i % 100}`, 2));
      }),
    );
    const perCycle = (n: number) => round(n / counted, 2);
    figures.push(
      {
        name: 'Redis commands per lock cycle, 64 in flight (the server, all its work)',
        value: perCycle(ours.calls),
        unit: 'commands',
        baseline: perCycle(theirs.calls),
        baselineName: 'raw Redlock acquire+release',
        ratio: round(theirs.calls / ours.calls, 3),
      },
      {
        name: 'Redis commands per lock cycle, 64 in flight, against two puts',
        value: perCycle(ours.calls),
        unit: 'commands',
        baseline: perCycle(twoPuts.calls),
        baselineName: 'two puts through the same server',
        ratio: round(twoPuts.calls / ours.calls, 3),
      },
    );
    process.stderr.write(
      `bench: lock cycle Redis commands: ${JSON.stringify(ours.byName.map(([n, c]) => [n, perCycle(c)]))}; two puts: ${JSON.stringify(twoPuts.byName.map(([n, c]) => [n, perCycle(c)]))}\n`,
    );

    const board = `bench-fence-${tag()}`;
    const { token } = await client.acquireLock(board, 'writer', { ttlMs: 600_000 });
    const fence = { lock: 'writer', token };
    const value = { status: 'working', step: 3, notes: 'a small agent state value' };
    for (const [inFlight, total] of [
      [1, Math.round(2_000 * options.scale)],
      [64, Math.round(20_000 * options.scale)],
    ] as const) {
      const { measured: fenced, baseline: unfenced } = await alternate(
        total,
        inFlight,
        (i) => admitted(() => client.put(board, `fenced/${i % 100}`, value, { fence })),
        (i) => admitted(() => client.put(board, `plain/${i % 100}`, value)),
      );
      figures.push(...throughputFigures(`fenced put, ${inFlight} in flight`, fenced, unfenced, 'unfenced put through the same server'));
    }
    await client.releaseLock(board, 'writer', token);
  } finally {
    client.close();
    redis.disconnect();
  }
  return figures;
}
