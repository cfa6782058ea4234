import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { CloseCode } from '../../shared/protocol/close-codes.js';
import { SUBPROTOCOL, WS_PATH } from '../../shared/protocol/types.js';
import type { Services } from '../services.js';
import { UpgradeRefusal, withinHandshake, type Authenticator, type ConnectionGuard } from './auth.js';
import type { Dispatcher } from './dispatch.js';
import { readRequestTarget } from './request-target.js';
import { type FlushScheduler, Session } from './session.js';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  414: 'URI Too Long',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

/** A frame as ws hands it over (Buffer, ArrayBuffer or fragments), as one Buffer. */
function asBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function refuse(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Frames one connection may start per turn of the event loop; the rest wait for the next turn.
 * Also how a burst is cut into Redis pipelines: the commands of one turn leave together, and
 * Redis runs them while this process parses the next turn's frames. With 64 writes in flight
 * on one connection, 16 a turn gave 11–20% more writes per second than 32 (two servers side
 * by side on one Redis and Postgres, taking turns, four pairings).
 */
const FRAMES_PER_TURN = 16;
/** Past this many frames waiting, the connection's socket is not read until they are started. */
const PAUSE_AT = 256;

/**
 * The heartbeat pings a node's connections in this many slices, one slice per tenth of
 * HEARTBEAT_MS, rather than all at once: a ping is a write to each socket, and a node with
 * thousands of connections would hold its event loop (and every event and reply behind it)
 * for as long as a thousand writes take, every HEARTBEAT_MS. Each connection is still pinged
 * once per HEARTBEAT_MS and dropped at its next ping if it has not answered.
 */
const HEARTBEAT_SLICES = 10;

/**
 * Paces the frames of one connection: at most FRAMES_PER_TURN are started per turn of the
 * event loop, so a connection that sends a thousand frames in one packet does not hold the
 * loop while every other connection waits. A connection with more waiting stops being read
 * until it is caught up, so what waits is bounded by what one read of its socket can hold.
 * Frames start in the order they came.
 */
class FramePacer {
  private startedThisTurn = 0;
  private readonly waiting: string[] = [];
  private turnScheduled = false;
  private paused = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly start: (text: string) => void,
  ) {}

  push(text: string): void {
    this.nextTurn();
    if (this.waiting.length === 0 && this.startedThisTurn < FRAMES_PER_TURN) {
      this.startedThisTurn++;
      this.start(text);
      return;
    }
    this.waiting.push(text);
    if (!this.paused && this.waiting.length >= PAUSE_AT) {
      this.paused = true;
      this.ws.pause();
    }
  }

  /** Drops what waits (the connection closed). */
  clear(): void {
    this.waiting.length = 0;
  }

  private nextTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      this.startedThisTurn = 0;
      const batch = this.waiting.splice(0, FRAMES_PER_TURN);
      if (batch.length === 0) return;
      this.startedThisTurn = batch.length;
      // More may wait: the next turn takes them (and resets the count again).
      this.nextTurn();
      for (const text of batch) this.start(text);
      // A connection being closed stays unread.
      if (this.paused && this.waiting.length < PAUSE_AT / 2 && this.ws.readyState === this.ws.OPEN) {
        this.paused = false;
        this.ws.resume();
      }
    });
  }
}

/** The WebSocket side of the gateway: upgrade with authentication, sessions, heartbeat. */
export class WsGateway {
  readonly wss: WebSocketServer;
  private heartbeat: NodeJS.Timeout | null = null;
  /** The connections of each heartbeat slice; a connection joins the slice after the last one's. */
  private readonly beatSlices: Array<Set<Session>> = Array.from({ length: HEARTBEAT_SLICES }, () => new Set());
  private nextSlice = 0;
  private beatTick = 0;
  private accepting = true;

  constructor(
    private readonly services: Services,
    /** This node's sessions (the same set as services.sessions, with the gateway's own type). */
    private readonly sessions: Set<Session>,
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
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Whatever the request holds, it ends in an answer: nothing thrown here may reach the process.
      this.upgrade(req, socket, head).catch((err: unknown) => {
        this.services.log.error({ err }, 'upgrade failed');
        refuse(socket, 400, 'upgrade failed');
      });
    });
    const tickMs = Math.max(1, Math.floor(this.services.config.HEARTBEAT_MS / HEARTBEAT_SLICES));
    this.heartbeat = setInterval(() => this.beat(), tickMs);
    this.heartbeat.unref();
  }

  /** New upgrades are refused with 503 from now on (the node is shutting down). */
  stopAccepting(): void {
    this.accepting = false;
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const target = readRequestTarget(req.url);
    if (!target.ok) return refuse(socket, target.status, target.message);
    const url = target.url;
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
    // The client may have given up while its credential was checked; the node may have begun to stop.
    if (socket.destroyed) return;
    if (!this.accepting) return refuse(socket, 503, 'server is shutting down');
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
    this.sessions.add(session);
    const slice = this.beatSlices[this.nextSlice]!;
    this.nextSlice = (this.nextSlice + 1) % HEARTBEAT_SLICES;
    slice.add(session);
    this.guard?.opened(session);
    log.debug('connection opened');
    ws.on('pong', () => {
      session.alive = true;
    });
    const frameFailed = (err: unknown) => {
      log.error({ err }, 'a frame failed outside its request');
    };
    const pacer = new FramePacer(ws, (text) => {
      if (session.closed) return;
      this.dispatcher.handleFrame(session, text).catch(frameFailed);
    });
    ws.on('message', (data) => {
      if (session.closed) return;
      const frame = asBuffer(data);
      // Charged (or refused) as it arrives; started at the pace of the connection's turns.
      const text = this.guard ? this.guard.admitFrame(session, frame) : frame.toString('utf8');
      if (text !== null) pacer.push(text);
    });
    ws.on('error', (err) => log.debug({ err }, 'socket error'));
    ws.on('close', (code) => {
      session.closed = true;
      pacer.clear();
      this.sessions.delete(session);
      slice.delete(session);
      log.debug({ code }, 'connection closed');
      this.onSessionClosed(session).catch((err: unknown) => log.warn({ err }, 'releasing a closed connection failed'));
    });
  }

  /**
   * One slice of the connections (the next in turn): a peer that did not answer its previous
   * ping is gone: drop it, and its locks and presence with it; the others are pinged.
   */
  private beat(): void {
    const slice = this.beatSlices[this.beatTick]!;
    this.beatTick = (this.beatTick + 1) % HEARTBEAT_SLICES;
    for (const session of slice) {
      if (!session.alive) {
        session.log.info('no pong since the last ping; dropping the connection');
        session.ws.terminate();
        continue;
      }
      session.alive = false;
      try {
        session.ws.ping();
      } catch (err) {
        session.log.debug({ err }, 'ping failed');
      }
    }
  }

  /** Stops accepting and closes every connection with 1001 (reconnect elsewhere). */
  async close(): Promise<void> {
    this.stopAccepting();
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const session of this.sessions) session.closeWith(CloseCode.GOING_AWAY, 'server shutting down');
    const deadline = Date.now() + 2_000;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const session of this.sessions) session.ws.terminate();
    this.wss.close();
  }
}
