import type { IncomingMessage, ServerResponse } from 'node:http';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Services } from '../services.js';
import { UpgradeRefusal, withinHandshake, type Authenticator } from '../gateway/auth.js';
import { McpHttpSession, type SessionCredential, type SessionSettings } from './http-session.js';
import { mcpMetrics, type McpMetrics } from './metrics.js';
import { mcpRequestGuard, type McpRequestGuard } from './request-guard.js';
import { McpSessionStore, MOVED_CHANNEL, type InitParams } from './session-store.js';
import { connectRedis, sentinelOf } from '../redis.js';
import type { RedisClient } from '../board/scripts.js';
import { readBody } from './web-adapter.js';
import { BOARD_PATTERN } from '../../shared/protocol/messages/common.js';

export const MCP_PATH = '/mcp';

function rpcError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** The raw bearer token of a request (header, or `access_token` as on the WebSocket). */
function bearerToken(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  return url.searchParams.get('access_token') ?? undefined;
}

/**
 * `POST/GET/DELETE /mcp`: MCP over Streamable HTTP on the server's own port. Each request
 * is authenticated as a WebSocket upgrade is; its session is served here if this node has
 * it, else taken over from Redis (the node that had it stops), so a client may reach any
 * node. A request for a session of another agent is answered as for an unknown one.
 */
export class McpEndpoint {
  private readonly sessions = new Map<string, McpHttpSession>();
  private readonly resuming = new Map<string, Promise<McpHttpSession | null>>();
  private readonly store: McpSessionStore;
  private readonly metrics: McpMetrics;
  private readonly guard: McpRequestGuard;
  private readonly sweeper: NodeJS.Timeout;
  private subscriber: RedisClient | null = null;
  private stopping = false;

  constructor(
    private readonly services: Services,
    private readonly authenticator: Authenticator,
  ) {
    const { config } = services;
    this.store = new McpSessionStore(services.redis, services.nodeId, {
      idleMs: config.MCP_SESSION_IDLE_MS,
      maxEvents: config.MCP_STREAM_MAX_EVENTS,
      eventsTtlMs: config.MCP_STREAM_TTL_MS,
    });
    this.metrics = mcpMetrics(services, () => this.sessions.size);
    this.guard = mcpRequestGuard({
      allowedHosts: config.MCP_ALLOWED_HOSTS,
      allowedOrigins: config.ALLOWED_ORIGINS,
      authMode: config.AUTH_MODE,
    });
    this.sweeper = setInterval(() => void this.sweep(), Math.min(60_000, Math.max(1_000, config.MCP_SESSION_IDLE_MS / 4)));
    this.sweeper.unref();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Listens for sessions other nodes take over, to drop this node's copies of them. */
  async start(): Promise<void> {
    const { config, log, nodeId } = this.services;
    const subscriber = await connectRedis(config.REDIS_URL, log, 'mcp-moves', true, config.REDIS_CLUSTER_NODES, sentinelOf(config));
    this.subscriber = subscriber;
    subscriber.on('message', (_channel: string, message: string) => {
      const [node, sessionId] = message.split(' ');
      if (node !== nodeId && sessionId) void this.sessions.get(sessionId)?.end(false);
    });
    await subscriber.subscribe(MOVED_CHANNEL);
  }

  private settings(req: IncomingMessage): SessionSettings {
    const { config, log } = this.services;
    // The session's WebSocket goes to the address this request reached, which is this node.
    let address = req.socket.localAddress ?? '127.0.0.1';
    if (address.startsWith('::ffff:')) address = address.slice('::ffff:'.length);
    const wsHost = address.includes(':') ? `[${address}]` : address;
    return {
      store: this.store,
      metrics: this.metrics,
      log: log.child({ mcp: true }),
      wsUrl: `ws://${wsHost}:${req.socket.localPort}/v1/ws`,
      connectTimeoutMs: config.HANDSHAKE_TIMEOUT_MS,
      maxBodyBytes: config.MAX_FRAME_BYTES,
      maxBufferedBytes: config.MAX_OUTBOUND_BYTES,
      requestTimeoutMs: 75_000,
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? '';
    if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') return rpcError(res, 405, -32000, 'Method not allowed.', { allow: 'GET, POST, DELETE' });
    const refusal = this.guard.refusal(req);
    if (refusal) return rpcError(res, 403, -32000, refusal);
    if (this.stopping) return rpcError(res, 503, -32000, 'server is shutting down; continue the session on another node');
    let credential: SessionCredential;
    const open = this.services.config.AUTH_MODE === 'none';
    // Without authentication an agent names itself, by query (as on the WebSocket) or header.
    const agentHeader = req.headers['x-blackboard-agent'];
    if (open && typeof agentHeader === 'string' && !url.searchParams.has('agent')) url.searchParams.set('agent', agentHeader);
    try {
      const identity = await withinHandshake(this.authenticator.authenticate(req, url), this.services.config.HANDSHAKE_TIMEOUT_MS);
      credential = {
        agentId: identity.agentId,
        scopes: identity.scopes,
        token: open ? undefined : bearerToken(req, url),
        named: !open || url.searchParams.has('agent'),
      };
    } catch (err) {
      if (err instanceof UpgradeRefusal) return rpcError(res, err.status, -32001, err.message, err.status === 401 ? { 'www-authenticate': 'Bearer' } : {});
      this.services.log.error({ err }, 'MCP authentication failed');
      return rpcError(res, 401, -32001, 'authentication failed', { 'www-authenticate': 'Bearer' });
    }

    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId !== 'string') return this.open(req, res, url, credential);
    let session = this.sessions.get(sessionId);
    if (session && credential.named && session.credential.agentId !== credential.agentId) return rpcError(res, 404, -32001, 'Session not found');
    if (session) this.keepAlive(session);
    else if (this.sessions.size >= this.services.config.MCP_MAX_SESSIONS) return this.full(res);
    else session = (await this.resume(sessionId, req, credential)) ?? undefined;
    if (!session) return rpcError(res, 404, -32001, 'Session not found');
    await session.handle(req, res, url);
  }

  private full(res: ServerResponse): void {
    rpcError(res, 503, -32000, 'this node serves as many MCP sessions as it may (MCP_MAX_SESSIONS); try another node');
  }

  /** A request without a session: it must be an initialize, which opens one. */
  private async open(req: IncomingMessage, res: ServerResponse, url: URL, credential: SessionCredential): Promise<void> {
    if (req.method !== 'POST') return rpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    const text = await readBody(req, this.services.config.MAX_FRAME_BYTES);
    if (text === null) return rpcError(res, 413, -32000, `request body larger than ${this.services.config.MAX_FRAME_BYTES} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return rpcError(res, 400, -32700, 'Parse error: Invalid JSON');
    }
    const init = Array.isArray(body) ? undefined : isInitializeRequest(body) ? body : undefined;
    if (!init) return rpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    if (this.sessions.size >= this.services.config.MCP_MAX_SESSIONS) return this.full(res);
    const board = url.searchParams.get('board') ?? undefined;
    if (board !== undefined && !BOARD_PATTERN.test(board)) return rpcError(res, 400, -32602, 'board must match [a-z0-9][a-z0-9_-]{0,63}');
    const params = init.params as unknown as InitParams;
    const session = new McpHttpSession(this.settings(req), credential, board, {
      initialized: async (s) => {
        this.sessions.set(s.id, s);
        this.metrics.sessionOpened('new');
        await this.store.create(s.id, {
          agent: credential.agentId,
          init: { protocolVersion: params.protocolVersion, capabilities: params.capabilities ?? {}, clientInfo: params.clientInfo },
          board,
          feed: { uris: [], cursors: {} },
        });
      },
      ended: (s, forget) => this.ended(s, forget),
    });
    await session.start();
    await session.handle(req, res, url, body);
    if (!session.initialized) await session.end(false);
  }

  /** Takes over a session another node (or an earlier connection here) served. */
  private resume(sessionId: string, req: IncomingMessage, credential: SessionCredential): Promise<McpHttpSession | null> {
    if (sessionId.length > 128) return Promise.resolve(null);
    let pending = this.resuming.get(sessionId);
    if (!pending) {
      pending = (async () => {
        const stored = await this.store.takeOver(sessionId, credential.named ? credential.agentId : null);
        if (!stored) return null;
        await this.store.announceMove(sessionId);
        const acting = credential.named ? credential : { ...credential, agentId: stored.agent };
        const session = new McpHttpSession(
          this.settings(req),
          acting,
          stored.board,
          { initialized: async () => undefined, ended: (s, forget) => this.ended(s, forget) },
          sessionId,
        );
        await session.start();
        try {
          await session.resume(stored);
        } catch (err) {
          this.services.log.warn({ err, session: sessionId }, 'resuming an MCP session failed');
          await session.end(false);
          return null;
        }
        this.sessions.set(sessionId, session);
        this.metrics.sessionOpened('resumed');
        return session;
      })().finally(() => this.resuming.delete(sessionId));
      this.resuming.set(sessionId, pending);
    }
    return pending;
  }

  /**
   * Restarts the session's idle time in Redis, at most every few seconds and off the
   * request's path. A node that takes a session over says so on MOVED_CHANNEL, so the
   * request path needs no check of who serves the session; this one catches a session
   * that expired or whose move was announced while this node was not listening.
   */
  private keepAlive(session: McpHttpSession): void {
    const now = Date.now();
    if (now - session.lastTouched < Math.min(10_000, this.services.config.MCP_SESSION_IDLE_MS / 10)) return;
    session.lastTouched = now;
    void this.store.touch(session.id).then(
      (state) => {
        if (state !== 'mine') void session.end(false);
      },
      () => undefined,
    );
  }

  private async ended(session: McpHttpSession, forget: boolean): Promise<void> {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    if (forget) await this.store.delete(session.id).catch((err: unknown) => this.services.log.warn({ err }, 'forgetting an MCP session failed'));
  }

  /** Ends sessions idle too long here, and keeps those with an open stream alive in Redis. */
  private async sweep(): Promise<void> {
    const idleMs = this.services.config.MCP_SESSION_IDLE_MS;
    const now = Date.now();
    for (const session of [...this.sessions.values()]) {
      try {
        if (session.openStreams > 0) {
          if ((await this.store.touch(session.id)) !== 'mine') await session.end(false);
        } else if (now - session.lastActive > idleMs) {
          await session.end(false);
        }
      } catch (err) {
        this.services.log.debug({ err }, 'MCP session sweep failed');
      }
    }
  }

  /** Ends every session here, leaving them in Redis: their clients continue on another node. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweeper);
    this.subscriber?.disconnect();
    await Promise.all([...this.sessions.values()].map((s) => s.end(false)));
  }
}
