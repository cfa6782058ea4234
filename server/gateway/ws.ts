import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode } from '../../shared/protocol/close-codes.js';
import { SUBPROTOCOL, WS_PATH } from '../../shared/protocol/types.js';
import type { Services } from '../services.js';
import { UpgradeRefusal, withinHandshake, type Authenticator, type ConnectionGuard } from './auth.js';
import type { Dispatcher } from './dispatch.js';
import { FlushScheduler, Session } from './session.js';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The WebSocket side of the gateway: upgrade with authentication, sessions, heartbeat. */
export class WsGateway {
  readonly wss: WebSocketServer;
  private heartbeat: NodeJS.Timeout | null = null;
  private accepting = true;

  constructor(
    private readonly services: Services,
    private readonly scheduler: FlushScheduler,
    private readonly dispatcher: Dispatcher,
    private readonly authenticator: Authenticator,
    private readonly onSessionClosed: (session: Session) => Promise<void>,
    private readonly guard: ConnectionGuard | null = null,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: services.config.MAX_FRAME_BYTES,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
  }

  attach(server: Server): void {
    server.on('upgrade', (req, socket, head) => void this.upgrade(req, socket, head));
    this.heartbeat = setInterval(() => this.beat(), this.services.config.HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== WS_PATH) return refuse(socket, 404, `WebSocket endpoint is ${WS_PATH}`);
    if (!this.accepting) return refuse(socket, 503, 'server is shutting down');
    let identity;
    try {
      this.guard?.checkOrigin(req);
      identity = await withinHandshake(this.authenticator.authenticate(req, url), this.services.config.HANDSHAKE_TIMEOUT_MS);
      this.guard?.admit(identity, socket);
    } catch (err) {
      if (err instanceof UpgradeRefusal) return refuse(socket, err.status, err.message);
      this.services.log.error({ err }, 'authentication failed');
      return refuse(socket, 401, 'authentication failed');
    }
    // The client may have given up while its credential was checked.
    if (socket.destroyed) return;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.open(ws, identity));
  }

  private open(ws: WebSocket, identity: { agentId: string; scopes: readonly string[] | null; expiresAt: number | null }): void {
    const { services } = this;
    const id = randomUUID();
    const log = services.log.child({ conn: id, agent: identity.agentId });
    const session = new Session(
      id,
      identity.agentId,
      ws,
      log,
      this.scheduler,
      { maxOutboundBytes: services.config.MAX_OUTBOUND_BYTES },
      { scopes: identity.scopes, expiresAt: identity.expiresAt },
    );
    services.sessions.add(session);
    this.guard?.opened(session);
    log.debug('connection opened');
    ws.on('pong', () => {
      session.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      if (session.closed) return;
      const text = isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString();
      if (this.guard && !this.guard.admitFrame(session, text)) return;
      void this.dispatcher.handleFrame(session, text);
    });
    ws.on('error', (err) => log.debug({ err }, 'socket error'));
    ws.on('close', (code) => {
      session.closed = true;
      services.sessions.delete(session);
      log.debug({ code }, 'connection closed');
      void this.onSessionClosed(session);
    });
  }

  /** A peer that did not answer the previous ping is gone: drop it, and its locks and presence with it. */
  private beat(): void {
    for (const session of this.services.sessions) {
      if (!session.alive) {
        session.log.info('no pong since the last ping; dropping the connection');
        session.ws.terminate();
        continue;
      }
      session.alive = false;
      session.ws.ping();
    }
  }

  /** Stops accepting and closes every connection with 1001 (reconnect elsewhere). */
  async close(): Promise<void> {
    this.accepting = false;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const session of this.services.sessions) session.closeWith(CloseCode.GOING_AWAY, 'server shutting down');
    const deadline = Date.now() + 2_000;
    while (this.services.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const session of this.services.sessions) session.ws.terminate();
    this.wss.close();
  }
}
