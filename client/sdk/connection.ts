import { terminalCloseCodes } from '../../shared/protocol/close-codes.js';
import { SUBPROTOCOL, WS_PATH } from '../../shared/protocol/types.js';
import { fullJitterDelay } from './backoff.js';

export const ConnectionState = {
  Disconnected: 'disconnected',
  Connecting: 'connecting',
  Connected: 'connected',
  Closed: 'closed',
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/**
 * An event handler slot. Declared as a method so that it is compared bivariantly: the
 * browser's `WebSocket` and the `ws` package's pass richer event objects than the fields
 * this client reads, and both must fit without a cast.
 */
type EventSlot<E> = { handle(ev: E): void }['handle'] | null;

/** The subset of the standard WebSocket API the client uses (browsers and the `ws` package both have it). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: EventSlot<unknown>;
  onmessage: EventSlot<{ data: unknown }>;
  onclose: EventSlot<{ code: number; reason: string }>;
  onerror: EventSlot<unknown>;
}
/** A WebSocket class: `globalThis.WebSocket` in browsers and Node 22+, or `WebSocket` from the `ws` package. */
export type SocketFactory = new (url: string, protocols?: string | string[]) => SocketLike;

export interface ConnectionOptions {
  /** One server, or several: after a lost connection the next one in the list is tried. */
  url: string | string[];
  agent?: string;
  token?: string;
  WebSocket?: SocketFactory;
  reconnect?: { baseMs?: number; capMs?: number };
}

interface ConnectionEvents {
  open(): void;
  message(text: string): void;
  close(code: number, reason: string): void;
  state(state: ConnectionState): void;
}

async function defaultSocketFactory(): Promise<SocketFactory> {
  const global = (globalThis as { WebSocket?: SocketFactory }).WebSocket;
  if (global) return global;
  const mod = (await import('ws')) as unknown as { WebSocket: SocketFactory };
  return mod.WebSocket;
}

function madeUpAgent(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  const id = c?.randomUUID ? c.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  return `agent-${id.slice(0, 13)}`;
}

/**
 * One logical connection that survives socket loss: an explicit state machine
 * (disconnected → connecting → connected) with full-jitter reconnects.
 */
export class Connection {
  state: ConnectionState = ConnectionState.Disconnected;
  private socket: SocketLike | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private factory: SocketFactory | null;
  /** The socket's stream is corked until the end of this turn (see coalesce). */
  private corked = false;

  /**
   * The agent this connection names itself, the same on every reconnect: a reqId belongs to
   * its agent, so a write resent on a new socket must come from the same one. Without a
   * token or a chosen name, one is made up once (the server would give each socket its own).
   */
  private readonly agent: string | undefined;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly events: ConnectionEvents,
  ) {
    this.factory = options.WebSocket ?? null;
    this.agent = options.agent ?? (options.token ? undefined : madeUpAgent());
  }

  private urlIndex = 0;

  endpoint(): string {
    const urls = Array.isArray(this.options.url) ? this.options.url : [this.options.url];
    const base = urls[this.urlIndex % urls.length] ?? '';
    const url = new URL(base.replace(/^http/, 'ws'));
    if (url.pathname === '/' || url.pathname === '') url.pathname = WS_PATH;
    if (this.agent) url.searchParams.set('agent', this.agent);
    if (this.options.token) url.searchParams.set('access_token', this.options.token);
    return url.toString();
  }

  open(): void {
    if (this.state === ConnectionState.Closed || this.socket) return;
    this.setState(ConnectionState.Connecting);
    void this.dial();
  }

  private async dial(): Promise<void> {
    try {
      this.factory ??= await defaultSocketFactory();
    } catch (err) {
      this.events.close(1006, `no WebSocket implementation: ${(err as Error).message}`);
      this.scheduleReconnect();
      return;
    }
    if (this.state === ConnectionState.Closed) return;
    const socket = new this.factory(this.endpoint(), SUBPROTOCOL);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.setState(ConnectionState.Connected);
      this.events.open();
    };
    socket.onmessage = (ev) => {
      if (typeof ev.data === 'string') this.events.message(ev.data);
      else this.events.message(String(ev.data));
    };
    socket.onerror = () => undefined;
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      // Any node can serve any client: move on to the next one.
      this.urlIndex++;
      this.events.close(ev.code, ev.reason);
      if (this.state === ConnectionState.Closed) return;
      if (terminalCloseCodes.has(ev.code)) {
        this.setState(ConnectionState.Closed);
        return;
      }
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    this.setState(ConnectionState.Disconnected);
    const delay = fullJitterDelay(this.attempt++, this.options.reconnect?.baseMs ?? 100, this.options.reconnect?.capMs ?? 5_000);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.open();
    }, delay);
  }

  send(text: string): boolean {
    if (this.state !== ConnectionState.Connected || !this.socket) return false;
    this.coalesce(this.socket);
    this.socket.send(text);
    return true;
  }

  /**
   * Frames sent in the same turn of the event loop (replies to many requests resolve at
   * once, and each caller sends its next request) leave in one write to the socket instead
   * of one each: where the socket exposes its TCP stream (the `ws` package in Node), it is
   * corked until the current turn's callbacks and promises have run. Browsers batch by themselves.
   */
  private coalesce(socket: SocketLike): void {
    if (this.corked) return;
    const stream = (socket as { _socket?: { cork?: () => void; uncork?: () => void } })._socket;
    if (!stream || typeof stream.cork !== 'function' || typeof stream.uncork !== 'function') return;
    const proc = (globalThis as { process?: { nextTick?: (fn: () => void) => void } }).process;
    if (typeof proc?.nextTick !== 'function') return;
    this.corked = true;
    stream.cork();
    proc.nextTick(() => {
      this.corked = false;
      stream.uncork?.();
    });
  }

  /** Drops the current socket (for tests and for callers that know it is stale); reconnects. */
  drop(): void {
    this.socket?.close(4000, 'client dropped the connection');
  }

  close(): void {
    this.setState(ConnectionState.Closed);
    if (this.timer) clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'client closed');
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.events.state(state);
  }
}
