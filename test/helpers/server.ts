import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { startApp, type App, type AppOptions } from '../../server/app.js';
import { BlackboardClient, BlackboardError, type ClientOptions } from '../../client/sdk/index.js';
import { WebSocket, type ClientOptions as SocketOptions } from 'ws';
import { FrameCheck } from './frame-check.js';

/** The `ws` WebSocket, with every frame it sends and receives checked against the protocol schema. */
export class CheckedWebSocket extends WebSocket {
  constructor(address: string | URL, protocols?: string | string[] | SocketOptions, options?: SocketOptions) {
    if (protocols !== undefined && typeof protocols === 'object' && !Array.isArray(protocols)) super(address, protocols);
    else super(address, protocols, options);
    const check = new FrameCheck();
    this.on('message', (data: Buffer) => check.received(data.toString()));
    const send = this.send.bind(this) as (data: unknown, ...rest: unknown[]) => void;
    this.send = ((data: unknown, ...rest: unknown[]) => {
      check.sent(data);
      send(data, ...rest);
    }) as WebSocket['send'];
  }
}

/** The error code a request ends with ('ok' when it succeeds); anything but a protocol error is rethrown. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    if (err instanceof BlackboardError) return err.code;
    throw err;
  }
}

/** A random board name, so tests never see each other's state. */
export function randomBoard(prefix = 't'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

export interface TestServer extends App, AsyncDisposable {
  wsUrl: string;
  client(options?: Partial<ClientOptions>): Promise<BlackboardClient>;
}

/** Two nodes: one with default settings, one whose heartbeat drops silent peers within about two beats. */
export async function startServerAndFastBeat(heartbeatMs = 200): Promise<[TestServer, TestServer]> {
  return Promise.all([startTestServer(), startTestServer({ env: { HEARTBEAT_MS: String(heartbeatMs) } })]);
}

/** Starts a real server on port 0 in this process. */
export async function startTestServer(options: AppOptions = {}): Promise<TestServer> {
  const app = await startApp({
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    ...options,
    // Load shedding follows the machine's load: tests that exercise it turn it on. History runs
    // when a test names its own database (in the shared one it would persist every test's boards).
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      ADMISSION_LAG_MS: '0',
      ADMISSION_BACKLOG_MS: '0',
      ADMISSION_MAX_COMMITS: '0',
      HISTORY_ENABLED: options.env?.DATABASE_URL ? 'true' : 'false',
      ...options.env,
    },
  });
  const clients: BlackboardClient[] = [];
  const wsUrl = `ws://127.0.0.1:${app.port}/v1/ws`;
  const server: TestServer = {
    ...app,
    wsUrl,
    async client(clientOptions = {}) {
      const client = new BlackboardClient({
        url: wsUrl,
        WebSocket: CheckedWebSocket,
        reconnect: { baseMs: 20, capMs: 500 },
        requestTimeoutMs: 30_000,
        ...clientOptions,
      });
      clients.push(client);
      await client.connect();
      return client;
    },
    async stop() {
      for (const c of clients) c.close();
      await app.stop();
    },
    async [Symbol.asyncDispose]() {
      await server.stop();
    },
  };
  return server;
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
