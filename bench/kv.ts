import { pino } from 'pino';
import { WebSocket } from 'ws';
import { BlackboardClient, type SocketFactory } from '../client/sdk/index.js';
import { BoardStore } from '../server/board/store.js';
import { connectRedis } from '../server/redis.js';
import { randomBoard } from '../test/helpers/server.js';
import { runConcurrent, throughputFigures, type Figure } from './stats.js';

export interface KvBenchOptions {
  url: string;
  redisUrl: string;
  scale: number;
}

/**
 * `put` through the whole server against the raw baseline: the server's own commit
 * script called directly through ioredis, at the same concurrency, in the same run.
 */
export async function benchPut(options: KvBenchOptions): Promise<Figure[]> {
  const redis = await connectRedis(options.redisUrl, pino({ level: 'silent' }), 'bench');
  const store = new BoardStore(redis, { retention: 100_000, keepsHistory: false });
  const client = new BlackboardClient({ url: options.url, WebSocket: WebSocket as unknown as SocketFactory });
  await client.connect();
  const value = { status: 'working', step: 3, notes: 'a small agent state value' };
  const valueText = JSON.stringify(value);
  const figures: Figure[] = [];
  try {
    for (const [inFlight, total] of [
      [1, 2_000 * options.scale],
      [64, 20_000 * options.scale],
    ] as const) {
      const rawBoard = randomBoard('bench-raw');
      await store.createBoard(rawBoard);
      const raw = await runConcurrent(total, inFlight, (i) =>
        store.commit({
          board: rawBoard,
          actorJson: '"bench"',
          shape: 'put',
          compares: [],
          ops: [{ kind: 'put', key: `k/${i % 100}`, valueText }],
        }),
      );
      const board = randomBoard('bench-put');
      await client.put(board, 'warmup', 1);
      const measured = await runConcurrent(total, inFlight, (i) => client.put(board, `k/${i % 100}`, value));
      figures.push(
        ...throughputFigures(`put, ${inFlight} in flight`, measured, raw, 'raw commit script (EVALSHA via ioredis)', inFlight === 64 ? '≥ 25% of raw' : undefined),
      );
    }
  } finally {
    client.close();
    redis.disconnect();
  }
  return figures;
}
