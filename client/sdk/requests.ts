import { BlackboardError, ErrorCode, isErrorCode, type ErrorBody } from '../../shared/protocol/errors.js';

interface Pending {
  frame: string;
  op: string;
  resolve(result: unknown): void;
  reject(err: BlackboardError): void;
  /** When it fails with TIMEOUT (performance.now() ms), and the list of requests with its timeout it waits in. */
  deadline: number;
  deadlines: Deadlines;
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
 * The requests given one timeout, in the order they were sent: that is also the order of
 * their deadlines, so one timer (for the first of them) serves them all, instead of a
 * timer made and cleared per request.
 */
interface Deadlines {
  timeoutMs: number;
  ids: Set<number>;
  timer: ReturnType<typeof setTimeout> | null;
}

/**
 * Matches replies to requests by id. While the connection is down, requests that are
 * safe to repeat wait (bounded by their timeout) and go out again on reconnect; the
 * others fail with UNAVAILABLE, since their outcome is unknown.
 */
export class RequestManager {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly deadlines = new Map<number, Deadlines>();

  constructor(
    private readonly transmit: (frame: string) => boolean,
    /** Resend repeatable requests refused with RATE_LIMITED after the wait the server names. */
    private readonly retryRateLimited = true,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** Sends `op` with `args` (and `reqId` after them, when given). */
  send(op: string, args: Record<string, unknown>, options: SendOptions, reqId?: string): Promise<unknown> {
    const id = this.nextId++;
    const frame = JSON.stringify(reqId === undefined ? { id, op, ...args } : { id, op, ...args, reqId });
    return new Promise((resolve, reject) => {
      const deadlines = this.deadlinesFor(options.timeoutMs);
      const entry: Pending = {
        frame,
        op,
        resolve,
        reject,
        deadline: performance.now() + options.timeoutMs,
        deadlines,
        resendable: options.resendable,
        sent: false,
      };
      if (options.onResult) entry.onResult = options.onResult;
      this.pending.set(id, entry);
      deadlines.ids.add(id);
      deadlines.timer ??= setTimeout(() => this.expire(deadlines), options.timeoutMs);
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
    this.pending.delete(id);
    const { deadlines } = entry;
    deadlines.ids.delete(id);
    // Nothing left to time out: no timer keeps the process alive.
    if (deadlines.ids.size === 0 && deadlines.timer !== null) {
      clearTimeout(deadlines.timer);
      deadlines.timer = null;
    }
    return entry;
  }

  private deadlinesFor(timeoutMs: number): Deadlines {
    let deadlines = this.deadlines.get(timeoutMs);
    if (!deadlines) this.deadlines.set(timeoutMs, (deadlines = { timeoutMs, ids: new Set(), timer: null }));
    return deadlines;
  }

  /** Fails the requests whose deadline passed, then waits for the next one's. */
  private expire(deadlines: Deadlines): void {
    deadlines.timer = null;
    const now = performance.now();
    for (const id of deadlines.ids) {
      const entry = this.pending.get(id);
      if (entry && entry.deadline > now) {
        deadlines.timer = setTimeout(() => this.expire(deadlines), entry.deadline - now);
        return;
      }
      deadlines.ids.delete(id);
      if (!entry) continue;
      this.pending.delete(id);
      entry.reject(new BlackboardError(ErrorCode.TIMEOUT, `${entry.op} got no reply within ${deadlines.timeoutMs} ms`, { op: entry.op }));
    }
  }
}
