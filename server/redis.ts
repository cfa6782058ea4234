import type { Socket } from 'node:net';
import { Cluster, type Command, Redis, ReplyError } from 'ioredis';
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
/** Where the primary is found: the Sentinels that watch it, and its name there. */
interface SentinelTarget {
  sentinels: string;
  name: string;
}

/**
 * The most commands a write holds: a burst of requests (a connection's frames of one turn)
 * reaches Redis in parts, so Redis runs the first scripts while this process still parses the
 * rest, rather than the two taking turns. On the Tasks bench's checkpoint loop (16 tasks in
 * flight, replies and requests in step) 8 gave 20-30% more tasks/s than one write per turn.
 */
const EARLY_FLUSH = 8;

/**
 * A connection whose commands of one turn of the event loop leave in few writes: the socket is
 * corked at the turn's first command and uncorked once the turn's callbacks have run
 * (setImmediate) or EARLY_FLUSH commands wait, as ioredis's auto-pipelining batches them,
 * without its costs. That path wraps every command in a pipeline of its own objects and
 * promises (about a third of the server's CPU per request on a busy node), and sends a batch
 * only once the one before it is answered, so Redis and this process take turns instead of
 * working side by side. Corked
 * commands are ordinary ones: they queue for their replies as soon as they are written to
 * the stream, in the order they were issued.
 */
class TurnBatchedRedis extends Redis {
  private corked: Socket | null = null;
  private corkedCommands = 0;

  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    // Only the ready connection's own stream: commands of the handshake go out as they come.
    if (stream === undefined && this.status === 'ready') {
      if (this.corked === null) {
        const socket = this.stream as Socket | undefined;
        if (socket && typeof socket.cork === 'function') {
          socket.cork();
          this.corked = socket;
          this.corkedCommands = 0;
          setImmediate(() => {
            this.corked = null;
            socket.uncork();
          });
        }
      } else if (this.corkedCommands >= EARLY_FLUSH) {
        this.corked.uncork();
        this.corked.cork();
        this.corkedCommands = 0;
      }
      this.corkedCommands++;
    }
    return super.sendCommand(command, stream);
  }
}

/** The Sentinel settings of a config, if it has them. */
export function sentinelOf(config: { REDIS_SENTINELS?: string | undefined; REDIS_SENTINEL_NAME?: string | undefined }): SentinelTarget | undefined {
  return config.REDIS_SENTINELS && config.REDIS_SENTINEL_NAME ? { sentinels: config.REDIS_SENTINELS, name: config.REDIS_SENTINEL_NAME } : undefined;
}

/** Password, user and db number of a redis:// URL, for a connection whose address comes from elsewhere. */
function credentialsOf(url: string): { username?: string; password?: string; db?: number } {
  try {
    const u = new URL(url);
    const db = Number(u.pathname.replace(/^\//, '') || 0);
    return {
      ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
      ...(Number.isInteger(db) && db > 0 ? { db } : {}),
    };
  } catch {
    return {};
  }
}

export async function connectRedis(
  url: string,
  log: Logger,
  role: string,
  offlineQueue = false,
  /** `host:port,host:port`: use Redis Cluster, discovering the cluster from these nodes. */
  clusterNodes?: string,
  /** Ask these Sentinels for the primary, and again after a failover. */
  sentinel?: SentinelTarget,
): Promise<RedisClient> {
  const retry = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000);
  const common = {
    lazyConnect: true,
    // Commands issued in one turn go out in one write (TurnBatchedRedis): many requests, few syscalls.
    enableAutoPipelining: false,
    enableOfflineQueue: offlineQueue,
    maxRetriesPerRequest: offlineQueue ? null : 1,
    connectTimeout: 3_000,
    retryStrategy: retry,
  };
  const redis: RedisClient = clusterNodes
    ? new Cluster(parseNodes(clusterNodes), {
        lazyConnect: true,
        enableAutoPipelining: !offlineQueue,
        enableOfflineQueue: offlineQueue,
        clusterRetryStrategy: retry,
        redisOptions: { connectTimeout: 3_000, maxRetriesPerRequest: offlineQueue ? null : 1 },
      })
    : sentinel
      ? new (offlineQueue ? Redis : TurnBatchedRedis)({
          ...common,
          ...credentialsOf(url),
          sentinels: parseNodes(sentinel.sentinels),
          name: sentinel.name,
          role: 'master',
          sentinelRetryStrategy: retry,
          // Subscribes to the Sentinels' +switch-master: the connection moves at once, not at its next error.
          failoverDetector: true,
          // A primary demoted under the connection answers READONLY: ask the Sentinels again.
          reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
        })
      : new (offlineQueue ? Redis : TurnBatchedRedis)(url, common);
  if (clusterNodes) url = `cluster ${clusterNodes}`;
  if (sentinel) url = `sentinels ${sentinel.sentinels} (primary "${sentinel.name}")`;
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
