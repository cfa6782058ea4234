import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';
import { connectRedis, connectionFailed, sentinelOf } from './redis.js';
import { BoardStore } from './board/store.js';
import { SubscriptionHub } from './board/hub.js';
import { ReplayChain } from './board/replay.js';
import { DurabilityHooks } from './board/durability.js';
import { Capabilities } from './capabilities.js';
import { Dispatcher } from './gateway/dispatch.js';
import { createHttpServer } from './gateway/http.js';
import type { Authenticator } from './gateway/auth.js';
import { WsGateway } from './gateway/ws.js';
import { FlushScheduler, type Session } from './gateway/session.js';
import type { Services } from './services.js';
import type { Extension, HandlerTable } from './extension.js';
import { defaultExtensions } from './extensions.js';
import { chooseAuthenticator } from './security/authenticator.js';
import { SecurityGuard } from './security/guard.js';

export interface AppOptions {
  /** Environment-style settings; unset ones come from process.env, then defaults. */
  env?: Record<string, string | undefined>;
  logger?: Logger;
  authenticator?: Authenticator;
  extensions?: (config: Config) => Extension[];
}

export interface App {
  services: Services;
  server: Server;
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** Builds and starts one server node. */
export async function startApp(options: AppOptions = {}): Promise<App> {
  const config = loadConfig({ ...process.env, ...options.env });
  const log = options.logger ?? createLogger(config);
  const nodeId = config.NODE_ID ?? `${hostname()}-${process.pid}`;
  // Before any connection is made: a JWT set-up that cannot work stops the node here.
  const authenticator = options.authenticator ?? chooseAuthenticator(config);
  const redis = await connectRedis(config.REDIS_URL, log, 'commands', false, config.REDIS_CLUSTER_NODES, sentinelOf(config));
  const subscriber = await connectRedis(config.REDIS_URL, log, 'subscriber', true, config.REDIS_CLUSTER_NODES, sentinelOf(config));
  const extensions = (options.extensions ?? defaultExtensions)(config);

  const store = new BoardStore(redis, {
    retention: config.STREAM_RETENTION,
    keepsHistory: config.HISTORY_ENABLED,
    maxUnpersisted: config.HISTORY_ENABLED ? config.MAX_UNPERSISTED : 0,
  });
  const sessions = new Set<Session>();
  const scheduler = new FlushScheduler(config.FANOUT_FRAMES_PER_SECOND);
  const hub = new SubscriptionHub(
    redis,
    subscriber,
    log,
    {
      progressMs: config.PROGRESS_MS,
      maxSubscriptionsPerAgent: config.MAX_SUBSCRIPTIONS_PER_AGENT,
      maxGlobsPerAgent: config.MAX_GLOBS_PER_AGENT,
    },
    (sub) => sub.sink.dropSlow('subscription fell behind the retained revisions'),
    (sub, rev) => (sub.sink as Session).sendProgress(sub, rev),
  );
  const services: Services = {
    config,
    log,
    nodeId,
    redis,
    store,
    hub,
    replay: new ReplayChain(redis),
    durability: new DurabilityHooks(),
    capabilities: new Capabilities(),
    sessions,
    fanout: scheduler,
    redisReady: () => redis.status === 'ready',
    redisConnectionFailed: (err) => connectionFailed(err, redis as Parameters<typeof connectionFailed>[1]),
    authenticator,
  };
  for (const ext of extensions) await ext.init?.(services);

  const handlers: HandlerTable = {};
  for (const ext of extensions) Object.assign(handlers, ext.handlers);
  const dispatcher = new Dispatcher(
    handlers,
    services,
    extensions.flatMap((e) => (e.hooks ? [e.hooks] : [])),
  );

  const sessionClosed = async (session: Session) => {
    for (const sub of session.subscriptions.values()) {
      sub.closed = true;
      hub.detach(sub);
    }
    session.subscriptions.clear();
    // All at once: the releases of what a connection held (its locks, presence, tasks) leave
    // for Redis in one batch, so a waiter of this node granted one of them reads after all of
    // them; and one extension's slow clean-up holds up no other's.
    await Promise.all(
      extensions.map(async (ext) => {
        try {
          await ext.sessionClosed?.(session);
        } catch (err) {
          session.log.warn({ err, extension: ext.name }, 'releasing connection state failed');
        }
      }),
    );
  };
  const gateway = new WsGateway(services, sessions, scheduler, dispatcher, authenticator, sessionClosed, new SecurityGuard(config));
  const readiness = {
    async check() {
      const states: Record<string, 'up' | 'down' | 'disabled'> = {};
      try {
        states.redis = redis.status === 'ready' && (await redis.ping()) === 'PONG' ? 'up' : 'down';
      } catch {
        states.redis = 'down';
      }
      for (const ext of extensions) Object.assign(states, await ext.readiness?.());
      return states;
    },
  };
  const server = createHttpServer(
    services,
    readiness,
    extensions.flatMap((e) => e.routes ?? []),
  );
  // A client must finish its request head in time: an idle or trickling TCP connection
  // is closed rather than held open (Node checks at the interval below, 30 s by default).
  server.headersTimeout = config.HANDSHAKE_TIMEOUT_MS;
  server.requestTimeout = config.HANDSHAKE_TIMEOUT_MS;
  // Read at listen(); @types/node only types it as a createServer option.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.min(1_000, config.HANDSHAKE_TIMEOUT_MS);
  gateway.attach(server);
  hub.start();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, nodeId, auth: config.AUTH_MODE }, 'blackboard listening');
  if (config.AUTH_MODE === 'none') log.warn('AUTH_MODE=none: every client may connect, naming itself as whichever agent it likes');

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      // From here an upgrade still arriving on an open TCP connection is refused with 503.
      gateway.stopAccepting();
      server.close();
      // Let requests already running finish before their connections go.
      const deadline = Date.now() + config.SHUTDOWN_GRACE_MS;
      const busy = () => [...sessions].some((s) => s.inflight > 0);
      while (busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await gateway.close();
      await hub.stop();
      for (const ext of [...extensions].reverse()) await ext.stop?.();
      redis.disconnect();
      subscriber.disconnect();
      server.closeAllConnections();
      log.info('blackboard stopped');
    })());

  return { services, server, port, url: `http://127.0.0.1:${port}`, stop };
}
