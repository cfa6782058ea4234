import { Redis } from 'ioredis';
import { startRedisProcess, type RedisProcess } from '../../helpers/redis-process.js';

/** The shared Redis of the machine: faults are never injected there. */
const SHARED_REDIS_PORT = 6379;

export interface RedisIdentity {
  runId: string;
  uptimeSeconds: number;
  /** Keys in db 0: an empty Redis after a restart without data says 0. */
  keys: number;
}

/**
 * A private redis-server for one scenario (`--save "" --appendonly no`), with the faults
 * the suite injects into it and the evidence that each one happened.
 */
export interface PrivateRedis extends AsyncDisposable {
  port: number;
  url: string;
  identity(): Promise<RedisIdentity>;
  /** SIGKILLs it and starts it again on the same port, empty. Returns the identity before and after. */
  restartEmpty(): Promise<{ before: RedisIdentity; after: RedisIdentity }>;
  /**
   * `CLIENT PAUSE <ms> ALL`, then measures how long a command from another connection
   * was held: the proof that the pause took hold.
   */
  pause(ms: number): Promise<{ heldMs: number }>;
  stop(): Promise<void>;
}

/** A short-lived connection to the Redis at `url`, closed after `fn`. */
export async function withConnection<T>(url: string, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 3_000 });
  redis.on('error', () => undefined);
  await redis.connect();
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

function field(info: string, name: string): string {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '';
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const redisProcess: RedisProcess = await startRedisProcess();
  if (redisProcess.port === SHARED_REDIS_PORT) {
    await redisProcess.stop();
    throw new Error('refusing to inject faults into the shared Redis on port 6379');
  }
  const identity = () =>
    withConnection(redisProcess.url, async (redis) => {
      const server = await redis.info('server');
      const keyspace = await redis.dbsize();
      return { runId: field(server, 'run_id'), uptimeSeconds: Number(field(server, 'uptime_in_seconds')), keys: keyspace };
    });
  return {
    port: redisProcess.port,
    url: redisProcess.url,
    identity,
    async restartEmpty() {
      const before = await identity();
      await redisProcess.stop();
      await redisProcess.start();
      const after = await identity();
      return { before, after };
    },
    pause(ms: number) {
      return withConnection(redisProcess.url, (admin) =>
        withConnection(redisProcess.url, async (probe) => {
          await admin.call('CLIENT', 'PAUSE', String(ms), 'ALL');
          const started = performance.now();
          await probe.get('faults:pause-probe');
          return { heldMs: performance.now() - started };
        }),
      );
    },
    stop: () => redisProcess.stop(),
    [Symbol.asyncDispose]: () => redisProcess.stop(),
  };
}
