import { Cluster, Redis, ReplyError } from 'ioredis';
import type { Logger } from 'pino';
import { defineScripts, type RedisClient } from './board/scripts.js';

/** Thrown when Redis cannot be reached at start-up; main prints it as one line. */
export class DependencyUnavailable extends Error {}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * Connects to Redis. Commands fail fast while the connection is down (no offline
 * queue), so a request gets UNAVAILABLE instead of waiting without bound.
 */
export async function connectRedis(
  url: string,
  log: Logger,
  role: string,
  offlineQueue = false,
  /** `host:port,host:port`: use Redis Cluster, discovering the cluster from these nodes. */
  clusterNodes?: string,
): Promise<RedisClient> {
  const retry = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000);
  const redis: RedisClient = clusterNodes
    ? new Cluster(parseNodes(clusterNodes), {
        lazyConnect: true,
        // Commands issued in one tick go out in one write: many requests, few syscalls.
        enableAutoPipelining: !offlineQueue,
        enableOfflineQueue: offlineQueue,
        clusterRetryStrategy: retry,
        redisOptions: { connectTimeout: 3_000, maxRetriesPerRequest: offlineQueue ? null : 1 },
      })
    : new Redis(url, {
        lazyConnect: true,
        enableAutoPipelining: !offlineQueue,
        enableOfflineQueue: offlineQueue,
        maxRetriesPerRequest: offlineQueue ? null : 1,
        connectTimeout: 3_000,
        retryStrategy: retry,
      });
  if (clusterNodes) url = `cluster ${clusterNodes}`;
  let warned = false;
  let connected = false;
  let lastError = '';
  redis.on('error', (err: Error) => {
    lastError = err.message;
    // Before the first connection the failure is reported once, by the caller.
    if (connected && !warned) log.warn({ err: err.message, role }, 'redis connection error');
    warned = connected;
  });
  redis.on('ready', () => {
    if (warned) log.info({ role }, 'redis connection restored');
    warned = false;
  });
  try {
    await redis.connect();
    connected = true;
  } catch (err) {
    redis.disconnect();
    throw new DependencyUnavailable(
      `Redis is not reachable at ${redact(url)} (${lastError || (err as Error).message}); start it with ` +
        '`redis-server --daemonize yes` or `docker compose up -d redis`, or set REDIS_URL',
    );
  }
  defineScripts(redis);
  return redis;
}

/** Socket error codes that mean the connection to Redis failed under a command. */
const NETWORK_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN', 'EHOSTUNREACH']);

/**
 * The code Redis gave an error reply (`NOGROUP`, `BUSYGROUP`, `WRONGTYPE`...: the first word
 * of the reply, by protocol), or null when the error is not a reply from Redis.
 */
export function redisErrorCode(err: unknown): string | null {
  if (!(err instanceof ReplyError)) return null;
  const code = /^[A-Z][A-Z_]*/.exec(String((err as Error).message))?.[0];
  return code ?? 'ERR';
}

/**
 * Whether a command failed because the connection did, not because Redis refused it: a
 * socket error code, ioredis giving up after its retries (MaxRetriesPerRequestError), or
 * a connection that is not ready or not writable at the time of the failure.
 */
export function connectionFailed(err: unknown, redis: Pick<RedisClient, 'status'> & { stream?: { writable?: boolean } }): boolean {
  if (err instanceof ReplyError) return false;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  if (err instanceof Error && err.name === 'MaxRetriesPerRequestError') return true;
  return redis.status !== 'ready' || redis.stream?.writable === false;
}

function parseNodes(list: string): Array<{ host: string; port: number }> {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const [host, port] = entry.split(':');
      return { host: host || '127.0.0.1', port: Number(port || 6379) };
    });
}
