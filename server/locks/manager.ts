import { randomBytes } from 'node:crypto';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { boardKeys } from '../board/keys.js';
import { failureError } from '../board/script-failures.js';
import { runScript } from '../board/scripts.js';
import type { DeadlineSweeper } from '../deadlines/sweeper.js';
import { runBoardScript } from '../deadlines/scripts.js';
import type { Services } from '../services.js';
import { LocalWaiters } from './waiters.js';

/** A lock this node took for one of its connections. */
export interface HeldLock {
  board: string;
  name: string;
  token: number;
  expiresAt: number;
  /** The random value this hold set on the resource key (Redlock's lock value). */
  value: string;
  /** Extensions and the release of one lock run one after the other. */
  queue: Promise<unknown>;
}

export interface Holder {
  agentId: string;
  /** The agent id as JSON, spliced into `$locks/<name>` and its events. */
  actorJson: string;
}

// Waiters poll (for releases on other nodes and expiries): a short delay keeps hand-overs
// quick, the jitter keeps waiters apart.
const RETRY_DELAY_MS = 20;
const RETRY_JITTER_MS = 15;

/**
 * Locks in two layers. The resource key in the board's hash slot is Redlock's on one
 * instance (SET NX PX with a random value, value-checked extend, compare-and-delete),
 * retried with jitter for `waitMs`. The board holds the fencing record and `$locks/<name>`.
 * Each op is one script that does both layers at once: acquire takes the resource and
 * numbers it (the token is the revision that created `$locks/<name>`, so it belongs to
 * exactly one period of the resource), extend moves both expiries, release retires the
 * fence and frees the resource. One Redis, no quorum: see docs/locks.md.
 */
export class LockManager {
  private readonly waiters = new LocalWaiters();

  constructor(
    private readonly services: Services,
    private readonly sweeper: DeadlineSweeper,
  ) {}

  /**
   * Takes the lock, waiting up to waitMs for it: attempts a jittered poll interval apart,
   * or sooner when this node releases it. A waiter whose connection went (`abandoned`) stops.
   */
  async acquire(board: string, name: string, holder: Holder, ttlMs: number, waitMs: number, abandoned: () => boolean = () => false): Promise<HeldLock> {
    const resource = boardKeys(board).lockResource(name);
    const deadline = Date.now() + waitMs;
    for (;;) {
      const held = await this.attempt(board, name, holder, resource, ttlMs);
      if (held) return held;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || abandoned()) throw await this.lockedError(board, name);
      const delay = RETRY_DELAY_MS + (Math.random() * 2 - 1) * RETRY_JITTER_MS;
      await this.waiters.pause(resource, Math.min(remaining, delay));
    }
  }

  /** One attempt: takes the resource and numbers the hold in one script; null if another holds it. */
  private async attempt(board: string, name: string, holder: Holder, resource: string, ttlMs: number): Promise<HeldLock | null> {
    const value = randomBytes(16).toString('hex');
    let taken;
    try {
      taken = await runBoardScript(this.services, 'lock-acquire-9', board, [resource], [name, holder.agentId, holder.actorJson, value, ttlMs]);
    } catch (err) {
      // The script may have run before the connection failed: the resource must not stay taken.
      await this.letGo(resource, value);
      throw err;
    }
    if (!taken.ok) {
      if (taken.failure === 'heldByAnother') return null;
      throw failureError(taken);
    }
    const held: HeldLock = { board, name, token: taken.token, expiresAt: taken.expiresAt, value, queue: Promise.resolve() };
    // Only a deadline that is the board's earliest needs the global index lowered.
    if (taken.register) {
      try {
        await this.sweeper.register(board, held.expiresAt);
      } catch (err) {
        await this.release(held, holder.actorJson).catch(() => undefined);
        throw err;
      }
    }
    return held;
  }

  /** Pushes the lock's expiry to ttlMs from now; FENCED when it was lost or lapsed. */
  extend(held: HeldLock, holder: Holder, ttlMs: number): Promise<number> {
    return serialize(held, async () => {
      const resource = boardKeys(held.board).lockResource(held.name);
      const extended = await runBoardScript(
        this.services,
        'lock-extend-9',
        held.board,
        [resource],
        [held.name, holder.agentId, holder.actorJson, held.value, held.token, ttlMs],
      );
      if (extended.ok) {
        held.expiresAt = extended.expiresAt;
        return held.expiresAt;
      }
      if (extended.failure === 'fenced') {
        this.waiters.wakeOne(resource);
        throw failureError(extended, `lock ${held.name} was lost or expired`);
      }
      await this.letGo(resource, held.value);
      throw failureError(extended);
    });
  }

  /**
   * Retires the fencing record and `$locks/<name>` and frees the resource (if it still
   * holds this hold's value, as Redlock's own release checks) in one script: no fenced
   * write passes once anyone else can take the lock.
   */
  release(held: HeldLock, actorJson: string): Promise<void> {
    return serialize(held, async () => {
      const resource = boardKeys(held.board).lockResource(held.name);
      const released = await runBoardScript(this.services, 'lock-release-9', held.board, [resource], [held.name, actorJson, held.token, held.value]);
      this.waiters.wakeOne(resource);
      if (released.ok) return;
      throw failureError(released, released.failure === 'fenced' ? `lock ${held.name} was no longer held with token ${held.token}` : undefined);
    });
  }

  /** Frees the resource (if it still holds `value`) and hands the lock to this node's first waiter. */
  private async letGo(resource: string, value: string): Promise<void> {
    await runScript(this.services.redis, 'lock-let-go-1', [resource], [value]).catch(() => undefined);
    this.waiters.wakeOne(resource);
  }

  /** The agent holding a lock, from its fencing record (null in the instant before it is numbered). */
  async holderOf(board: string, name: string): Promise<string | null> {
    const record = await this.services.redis.hget(boardKeys(board).locks, name);
    const match = record === null ? null : /^\d+:\d+:([\s\S]*)$/.exec(record);
    return match?.[1] ?? null;
  }

  private async lockedError(board: string, name: string): Promise<BlackboardError> {
    let holder = await this.holderOf(board, name);
    if (holder === null) {
      await new Promise((r) => setTimeout(r, 5));
      holder = await this.holderOf(board, name);
    }
    return new BlackboardError(ErrorCode.LOCKED, `lock ${name} is held by another`, { holder });
  }
}

function serialize<T>(held: HeldLock, fn: () => Promise<T>): Promise<T> {
  const run = held.queue.then(fn, fn);
  held.queue = run.catch(() => undefined);
  return run;
}
