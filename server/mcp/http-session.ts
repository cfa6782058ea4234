import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { createBridge, type Bridge } from '../../client/mcp/bridge.js';
import type { BoardApi } from '../../client/mcp/board-api.js';
import { visibleActions } from '../../client/mcp/visibility.js';
import { BlackboardClient } from '../../client/sdk/client.js';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { RedisEventStore } from './event-store.js';
import type { McpMetrics } from './metrics.js';
import type { McpSessionStore, StoredSession } from './session-store.js';
import { readBody, sendWebResponse, toWebRequest } from './web-adapter.js';

/** Who a session acts as: the credential of the request that opened (or resumed) it. */
export interface SessionCredential {
  agentId: string;
  scopes: readonly string[] | null;
  /** The bearer token, passed on to the session's WebSocket; absent with AUTH_MODE=none. */
  token: string | undefined;
  /** false: AUTH_MODE=none and the request named no agent, so it acts as the session's agent. */
  named: boolean;
}

export interface SessionSettings {
  store: McpSessionStore;
  metrics: McpMetrics | null;
  log: Logger;
  /** The node's own WebSocket endpoint. */
  wsUrl: string;
  connectTimeoutMs: number;
  maxBodyBytes: number;
  maxBufferedBytes: number;
  /** Where the session's requests may wait longest: lock_acquire's and task_claim's 60 s, and some. */
  requestTimeoutMs: number;
}

/**
 * One MCP session served by this node: the shared tools over a WebSocket connection of its
 * own to this node (so scopes, rate limits, fencing and lock/task ownership are exactly a
 * WebSocket client's), behind the SDK's Streamable HTTP transport with a Redis event store.
 * The session is deliberately a client of the node: it uses the SDK (client/) rather than a
 * path into the handlers, so MCP cannot drift from what the protocol guarantees.
 */
export class McpHttpSession {
  readonly id: string;
  readonly bridge: Bridge;
  readonly transport: WebStandardStreamableHTTPServerTransport;
  lastActive = Date.now();
  /** When the session's idle time in Redis was last restarted (a new or resumed session's starts now). */
  lastTouched = Date.now();
  openStreams = 0;
  initialized = false;
  private client: BlackboardClient | null = null;
  private connecting: Promise<BoardApi> | null = null;
  private ended = false;

  constructor(
    private readonly settings: SessionSettings,
    readonly credential: SessionCredential,
    readonly defaultBoard: string | undefined,
    hooks: {
      /** A new session's initialize arrived: record it before it is answered. */
      initialized(session: McpHttpSession): Promise<void>;
      /** The session ended here; `forget`: the client ended it, so it is gone everywhere. */
      ended(session: McpHttpSession, forget: boolean): Promise<void>;
    },
    resumedId?: string,
  ) {
    this.id = resumedId ?? randomUUID();
    this.hooks = hooks;
    this.bridge = createBridge({
      provider: () => this.connect(),
      defaultBoard,
      visible: visibleActions(credential.scopes),
      onToolCall: (tool, result, seconds) => settings.metrics?.toolCall(tool, result, seconds),
      onFeedChanged: (state) =>
        void settings.store.saveFeed(this.id, state.uris, state.cursors).catch((err: unknown) => settings.log.warn({ err }, 'saving MCP subscriptions failed')),
    });
    this.transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => this.id,
      onsessioninitialized: async () => {
        this.initialized = true;
        if (!resumedId) await this.hooks.initialized(this);
      },
      // The client ended the session (DELETE): it is forgotten before the reply says so.
      onsessionclosed: () => this.end(true),
      eventStore: new RedisEventStore(
        settings.store,
        this.id,
        () => void this.end(false),
        (err) => settings.log.warn({ err, session: this.id }, 'storing an MCP reply for resumption failed'),
      ),
      retryInterval: 1_000,
      maxRequestBodySize: settings.maxBodyBytes,
    });
  }

  private readonly hooks: {
    initialized(session: McpHttpSession): Promise<void>;
    ended(session: McpHttpSession, forget: boolean): Promise<void>;
  };

  async start(): Promise<void> {
    await this.bridge.server.connect(this.transport);
  }

  /** A session that moved here: initialize its transport as the client once did, then resume its subscriptions. */
  async resume(stored: StoredSession): Promise<void> {
    const init = { jsonrpc: '2.0', id: `resume-${this.id}`, method: 'initialize', params: stored.init };
    const request = new Request('http://localhost/mcp', {
      method: 'POST',
      headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
    });
    const response = await this.transport.handleRequest(request, { parsedBody: init });
    await response.text();
    if (!this.initialized) throw new Error(`resuming MCP session ${this.id} failed (${response.status})`);
    const dropped = await this.bridge.feed.restore(stored.feed);
    if (dropped.length > 0) this.settings.log.warn({ session: this.id, dropped: dropped.slice(0, 20) }, 'resource subscriptions that could not be resumed');
  }

  /** Serves one HTTP request of this session (`parsedBody`: a POST body already read). */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL, parsedBody?: unknown): Promise<void> {
    this.lastActive = Date.now();
    const stream = req.method === 'GET';
    if (stream) this.openStreams++;
    try {
      let body: string | undefined;
      if (req.method === 'POST' && parsedBody === undefined) {
        const text = await readBody(req, this.settings.maxBodyBytes);
        if (text === null) {
          res.writeHead(413, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              jsonrpc: '2.0',
              error: { code: -32000, message: `request body larger than ${this.settings.maxBodyBytes} bytes` },
              id: null,
            }),
          );
          return;
        }
        body = text;
      }
      const response = await this.transport.handleRequest(toWebRequest(req, url, body), parsedBody === undefined ? {} : { parsedBody });
      await sendWebResponse(res, response, this.settings.maxBufferedBytes, stream);
    } finally {
      if (stream) this.openStreams--;
      this.lastActive = Date.now();
    }
  }

  /** The session's connection to this node's WebSocket endpoint, opened on first use. */
  private connect(): Promise<BoardApi> {
    if (this.ended) return Promise.reject(new BlackboardError(ErrorCode.UNAVAILABLE, 'the MCP session has ended'));
    return (this.connecting ??= (async () => {
      const { credential, settings } = this;
      const client = new BlackboardClient({
        url: settings.wsUrl,
        ...(credential.token === undefined ? { agent: credential.agentId } : { token: credential.token }),
        WebSocket: WebSocket,
        reconnect: { baseMs: 50, capMs: 2_000 },
        requestTimeoutMs: settings.requestTimeoutMs,
      });
      this.client = client;
      // Closed for good (the credential expired or was revoked): the session ends here; a
      // request with a fresh credential resumes it with a new connection.
      client.on('state', (state) => {
        if (state === 'closed') void this.end(false);
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          client.connect(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new BlackboardError(ErrorCode.UNAVAILABLE, 'the session could not connect to the board server in time')),
              settings.connectTimeoutMs,
            );
          }),
        ]);
      } catch (err) {
        this.connecting = null;
        this.client = null;
        client.close();
        throw err;
      } finally {
        clearTimeout(timer);
      }
      return client;
    })());
  }

  /** Ends the session on this node: its connection closes, and with it its locks and claimed tasks. */
  async end(forget: boolean): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    void this.bridge.close();
    this.client?.close();
    await this.hooks.ended(this, forget);
    // Last: closing the transport ends the streams of requests still open, a DELETE's included.
    if (!forget) await this.transport.close().catch(() => undefined);
  }
}
