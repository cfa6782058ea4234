import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { LockExtendResult, LockGrant, LockReleaseResult, PresenceClearResult, PresenceResult } from '../../shared/protocol/types.js';
import type { Requester } from './requester.js';

/** What the lock helpers need of a client: one request/reply call. */
type LockRequester = Requester;

/** What a write passes as `fence` to commit only while the lock is still held. */
export interface Fence {
  lock: string;
  token: number;
}

export interface LockOptions {
  /** How long the lock lives without an extension. */
  ttlMs: number;
  /** How long to wait for the lock before LOCKED (default 0: try once). */
  waitMs?: number;
}

export interface WithLockOptions {
  /** Default 10 s; the lock is extended every ttlMs / 3 while `fn` runs. */
  ttlMs?: number;
  /** Default 10 s. */
  waitMs?: number;
}

export interface LockContext {
  /** Aborted when the lock is lost (an extension was FENCED, or none succeeded in time). */
  signal: AbortSignal;
  token: number;
  /** Pass it to put/patch/delete/txn so that they commit only while the lock is held. */
  fence: Fence;
}

export function acquireLock(client: LockRequester, board: string, name: string, options: LockOptions): Promise<LockGrant> {
  const { ttlMs, waitMs } = options;
  return client.request('lock.acquire', waitMs === undefined ? { board, name, ttlMs } : { board, name, ttlMs, waitMs });
}

export function extendLock(client: LockRequester, board: string, name: string, token: number, ttlMs: number): Promise<LockExtendResult> {
  return client.request('lock.extend', { board, name, token, ttlMs });
}

export function releaseLock(client: LockRequester, board: string, name: string, token: number): Promise<LockReleaseResult> {
  return client.request('lock.release', { board, name, token });
}

export function setPresence(client: LockRequester, board: string, meta: unknown): Promise<PresenceResult> {
  return client.request('presence.set', { board, meta });
}

export function clearPresence(client: LockRequester, board: string): Promise<PresenceClearResult> {
  return client.request('presence.clear', { board });
}

const isCode = (err: unknown, ...codes: ErrorCode[]) => err instanceof BlackboardError && codes.includes(err.code);

/**
 * Keeps one held lock alive: extends it every ttl/3, and aborts `signal` when it is lost:
 * an extension answered FENCED, or the time the lock surely lasts (counted on this
 * machine from when the last successful request was sent) ran out first.
 */
class LockKeeper {
  private readonly controller = new AbortController();
  private extendTimer: ReturnType<typeof setTimeout> | null = null;
  private lapseTimer: ReturnType<typeof setTimeout> | null = null;
  private inflight: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly client: LockRequester,
    private readonly board: string,
    private readonly name: string,
    private readonly token: number,
    private readonly ttlMs: number,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** `sentAt`: local time the acquire was sent; the lock lasts at least ttlMs from it. */
  start(sentAt: number): void {
    if (Date.now() - sentAt <= this.ttlMs / 3) return this.held(sentAt);
    // The acquire waited for the lock, so when it was taken is unknown here and the bound
    // from sentAt is too short: confirm the lock at once, and count from that.
    this.inflight = this.confirm().finally(() => {
      this.inflight = null;
    });
  }

  private async confirm(): Promise<void> {
    const sentAt = Date.now();
    try {
      await extendLock(this.client, this.board, this.name, this.token, this.ttlMs);
      this.held(sentAt);
    } catch (err) {
      if (this.stopped) return;
      this.lose(err instanceof BlackboardError ? err : new BlackboardError(ErrorCode.UNAVAILABLE, String(err)));
    }
  }

  private held(since: number): void {
    if (this.stopped) return;
    if (this.lapseTimer) clearTimeout(this.lapseTimer);
    this.lapseTimer = setTimeout(
      () => this.lose(new BlackboardError(ErrorCode.FENCED, `lock ${this.name} lapsed before it could be extended`)),
      Math.max(0, since + this.ttlMs - Date.now()),
    );
    this.schedule(Math.max(0, since + this.ttlMs / 3 - Date.now()));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.extendTimer = setTimeout(() => {
      this.extendTimer = null;
      this.inflight = this.extend().finally(() => {
        this.inflight = null;
      });
    }, delayMs);
  }

  private async extend(): Promise<void> {
    const sentAt = Date.now();
    try {
      await extendLock(this.client, this.board, this.name, this.token, this.ttlMs);
      this.held(sentAt);
    } catch (err) {
      if (this.stopped) return;
      if (isCode(err, ErrorCode.FENCED, ErrorCode.BAD_REQUEST)) return this.lose(err as BlackboardError);
      // A transient failure (reconnecting, timeout): try again soon, until the lock lapses.
      this.schedule(Math.min(200, this.ttlMs / 10));
    }
  }

  private lose(reason: BlackboardError): void {
    this.halt();
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  private halt(): void {
    this.stopped = true;
    if (this.extendTimer) clearTimeout(this.extendTimer);
    if (this.lapseTimer) clearTimeout(this.lapseTimer);
    this.extendTimer = this.lapseTimer = null;
  }

  /** Stops extending; resolves once an extension already sent has its answer. */
  async stop(): Promise<void> {
    this.halt();
    await this.inflight;
  }
}

/**
 * Runs `fn` while holding the lock: acquires it (waiting up to waitMs), extends it while
 * `fn` runs, and releases it at the end, whatever `fn` does. `fn` gets the fencing token,
 * a `fence` for its writes, and a signal that fires if the lock is lost; writes made with
 * the fence after that are refused with FENCED, so a stalled holder cannot clobber its
 * successor's work.
 */
export async function withLock<T>(
  client: LockRequester,
  board: string,
  name: string,
  fn: (lock: LockContext) => Promise<T> | T,
  options: WithLockOptions = {},
): Promise<T> {
  const ttlMs = options.ttlMs ?? 10_000;
  const sentAt = Date.now();
  const grant = await acquireLock(client, board, name, { ttlMs, waitMs: options.waitMs ?? 10_000 });
  const keeper = new LockKeeper(client, board, name, grant.token, ttlMs);
  keeper.start(sentAt);
  try {
    return await fn({ signal: keeper.signal, token: grant.token, fence: { lock: name, token: grant.token } });
  } finally {
    await keeper.stop();
    try {
      await releaseLock(client, board, name, grant.token);
    } catch (err) {
      // Lost already, or the connection went (which releases it on the server): nothing to undo.
      if (!isCode(err, ErrorCode.FENCED, ErrorCode.UNAVAILABLE, ErrorCode.TIMEOUT)) throw err;
    }
  }
}
