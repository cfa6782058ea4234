import { BlackboardError, ErrorCode, isErrorCode, type ErrorBody } from '../../shared/protocol/errors.js';

interface Pending {
  frame: string;
  resolve(result: unknown): void;
  reject(err: BlackboardError): void;
  timer: ReturnType<typeof setTimeout>;
  /** Safe to send again after a reconnect (reads, writes carrying a reqId). */
  resendable: boolean;
  sent: boolean;
  /** Runs synchronously with the reply, before any later frame is handled. */
  onResult?: (result: unknown) => void;
}

interface SendOptions {
  resendable: boolean;
  timeoutMs: number;
  onResult?: (result: unknown) => void;
}

/**
 * Matches replies to requests by id. While the connection is down, requests that are
 * safe to repeat wait (bounded by their timeout) and go out again on reconnect; the
 * others fail with UNAVAILABLE, since their outcome is unknown.
 */
export class RequestManager {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly transmit: (frame: string) => boolean,
    /** Resend repeatable requests refused with RATE_LIMITED after the wait the server names. */
    private readonly retryRateLimited = true,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  send(op: string, args: Record<string, unknown>, options: SendOptions): Promise<unknown> {
    const id = this.nextId++;
    const frame = JSON.stringify({ id, op, ...args });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new BlackboardError(ErrorCode.TIMEOUT, `${op} got no reply within ${options.timeoutMs} ms`, { op }));
      }, options.timeoutMs);
      const entry: Pending = { frame, resolve, reject, timer, resendable: options.resendable, sent: false };
      if (options.onResult) entry.onResult = options.onResult;
      this.pending.set(id, entry);
      entry.sent = this.transmit(frame);
      if (!entry.sent && !entry.resendable) {
        this.settle(id);
        reject(new BlackboardError(ErrorCode.UNAVAILABLE, 'not connected', { op }));
      }
    });
  }

  /** Handles a reply frame; returns false if it was not a reply. */
  handleReply(message: { id?: unknown; ok?: unknown; result?: unknown; error?: unknown }): boolean {
    if (!('ok' in message)) return false;
    if (typeof message.id !== 'number') return true;
    if (message.ok === false && this.retryLater(message.id, message.error as ErrorBody | undefined)) return true;
    const entry = this.settle(message.id);
    if (!entry) return true;
    if (message.ok === true) {
      entry.onResult?.(message.result);
      entry.resolve(message.result);
    } else {
      const body = message.error as ErrorBody | undefined;
      const code = isErrorCode(body?.code) ? body.code : ErrorCode.INTERNAL;
      entry.reject(new BlackboardError(code, body?.message ?? 'request failed', body?.details));
    }
    return true;
  }

  /** A server that sheds load names a wait; a request safe to repeat goes out again after it (within its timeout). */
  private retryLater(id: number, error: ErrorBody | undefined): boolean {
    const entry = this.pending.get(id);
    if (!entry || !entry.resendable || !this.retryRateLimited || error?.code !== ErrorCode.RATE_LIMITED) return false;
    const wait = Number(error.details?.retryAfterMs ?? 100);
    setTimeout(
      () => {
        if (this.pending.get(id) === entry) entry.sent = this.transmit(entry.frame);
      },
      Math.min(5_000, Math.max(10, wait)) * (0.5 + Math.random()),
    );
    return true;
  }

  /** The socket is gone: unknown outcomes fail now, repeatable requests wait for the next socket. */
  connectionLost(): void {
    for (const [id, entry] of this.pending) {
      if (entry.resendable) {
        entry.sent = false;
        continue;
      }
      this.settle(id);
      entry.reject(new BlackboardError(ErrorCode.UNAVAILABLE, 'connection lost before the reply; outcome unknown'));
    }
  }

  connectionOpened(): void {
    for (const entry of this.pending.values()) {
      if (!entry.sent) entry.sent = this.transmit(entry.frame);
    }
  }

  failAll(error: BlackboardError): void {
    for (const [id, entry] of this.pending) {
      this.settle(id);
      entry.reject(error);
    }
  }

  private settle(id: number): Pending | undefined {
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.pending.delete(id);
    return entry;
  }
}
