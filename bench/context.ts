import { pino } from 'pino';
import { WebSocket } from 'ws';
import { BlackboardClient, BlackboardError, ErrorCode } from '../client/sdk/index.js';
import { BoardStore } from '../server/board/store.js';
import type { RedisClient } from '../server/board/scripts.js';
import { loadConfig } from '../server/config.js';
import { connectRedis } from '../server/redis.js';
import type { Plan } from './plan.js';

/** What every section gets: the server under test, the same Redis for the raw baselines, and the plan. */
export interface BenchContext {
  /** http://127.0.0.1:<port> of the server process under test. */
  url: string;
  redisUrl: string;
  plan: Plan;
  redis: RedisClient;
  /** The server's own commit script, called straight through ioredis: the raw baseline. */
  store: BoardStore;
  /** The environment the server process runs with (a second node gets the same). */
  serverEnv: Record<string, string>;
  /** The server process, to read the CPU time it spends. */
  serverPid?: number;
}

/**
 * The environment the benchmark runs the server with: no per-connection or per-agent request
 * limit (each connection is an agent of its own: the per-agent limit would cap it as the
 * per-connection one would), write admission at the server's own defaults (the process helper
 * turns it off for tests), history only with a database.
 */
export function benchServerEnv(redisUrl: string, databaseUrl?: string): Record<string, string> {
  const defaults = loadConfig({});
  return {
    LOG_LEVEL: 'error',
    REDIS_URL: redisUrl,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    RATE_LIMIT_RPS: '0',
    RATE_LIMIT_AGENT_RPS: '0',
    ADMISSION_LAG_MS: String(defaults.ADMISSION_LAG_MS),
    ADMISSION_BACKLOG_MS: String(defaults.ADMISSION_BACKLOG_MS),
    ADMISSION_MAX_COMMITS: String(defaults.ADMISSION_MAX_COMMITS),
  };
}

export async function rawStore(redisUrl: string): Promise<{ redis: RedisClient; store: BoardStore }> {
  const redis = await connectRedis(redisUrl, pino({ level: 'silent' }), 'bench');
  // Configured like the server's own store, so the script does the same work on both paths.
  const store = new BoardStore(redis, { retention: 100_000, keepsHistory: true, maxUnpersisted: 1_000_000 });
  return { redis, store };
}

export async function connectClient(url: string): Promise<BlackboardClient> {
  const client = new BlackboardClient({ url, WebSocket });
  await client.connect();
  return client;
}

export const valueText = JSON.stringify({ status: 'working', step: 3, notes: 'a small agent state value' });

/** Writes refused by write admission (RATE_LIMITED) and sent again, counted over the run. */
export const refusals = { count: 0 };

/**
 * Runs a write as a well-behaved client does: refused with RATE_LIMITED (the server's write
 * admission, when its event loop lags), it waits `retryAfterMs` and sends it again.
 */
export async function admitted<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (!(err instanceof BlackboardError && err.code === ErrorCode.RATE_LIMITED) || attempt >= 1_000) throw err;
      refusals.count++;
      const wait = Number(err.details?.retryAfterMs ?? 50);
      await new Promise((r) => setTimeout(r, Number.isFinite(wait) ? Math.min(wait, 5_000) : 50));
    }
  }
}
