import Redlock, { ExecutionError, ResourceLockedError, type Lock } from 'redlock';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { boardKeys } from '../board/keys.js';
import type { Services } from '../services.js';
import type { DeadlineSweeper } from './expiry.js';
import { runBoardScript } from './scripts.js';
import { LocalWaiters } from './waiters.js';

/** A lock this node took for one of its connections. */
export interface HeldLock {
  board: string;
  name: string;
  token: number;
  expiresAt: number;
  /** Redlock's hold on the resource key; each extension replaces it. */
  hold: Lock;
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

const fenced = (message: string) => new BlackboardError(ErrorCode.FENCED, message);

/**
 * Locks in two layers. Redlock holds the resource key in the board's hash slot (SET NX PX,
 * value-checked extend), retried with jitter for `waitMs`. The board holds the fencing
 * record and `$locks/<name>`, written by scripts that check Redlock's hold in the same
 * step, so the token (the revision that created `$locks/<name>`) belongs to exactly one
 * period of the resource. Release does Redlock's compare-and-delete inside the script that
 * retires the fence. One Redis, no quorum: see docs/locks.md.
 */
export class LockManager {
  readonly redlock: Redlock;
  private readonly waiters = new LocalWaiters();

  constructor(
    private readonly services: Services,
    private readonly sweeper: DeadlineSweeper,
  ) {
    // One attempt per call: the waiting between attempts is acquire's own loop, so that a
    // release on this node can cut it short and a closed connection can end it.
    this.redlock = new Redlock([services.redis], { driftFactor: 0.01, retryCount: 0, automaticExtensionThreshold: 0 });
  }

  /**
   * Takes the lock, waiting up to waitMs for it: Redlock attempts, a jittered poll interval
   * apart, or sooner when this node releases it. A waiter whose connection went
   * (`abandoned`) stops.
   */
  async acquire(
    board: string,
    name: string,
    holder: Holder,
    ttlMs: number,
    waitMs: number,
    abandoned: () => boolean = () => false,
  ): Promise<HeldLock> {
    const resource = boardKeys(board).lockResource(name);
    const deadline = Date.now() + waitMs;
    for (;;) {
      let hold: Lock | null = null;
      try {
        hold = await this.redlock.acquire([resource], ttlMs);
      } catch (err) {
        const failure = await redlockFailure(err);
        if (failure !== 'held') throw failure;
      }
      // A hold that lapsed before it was numbered (a stall longer than ttlMs) counts as a miss.
      const held = hold && (await this.number(board, name, holder, resource, hold));
      if (held) return held;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || abandoned()) throw await this.lockedError(board, name);
      const delay = RETRY_DELAY_MS + (Math.random() * 2 - 1) * RETRY_JITTER_MS;
      await this.waiters.pause(resource, Math.min(remaining, delay));
    }
  }

  /** Gives a fresh Redlock hold its fencing token; null if the hold lapsed first. */
  private async number(board: string, name: string, holder: Holder, resource: string, hold: Lock): Promise<HeldLock | null> {
    let reply;
    try {
      reply = await runBoardScript(this.services, 'lock-number-9', board, [resource], [
        name,
        holder.agentId,
        holder.actorJson,
        hold.value,
      ]);
    } catch (err) {
      await this.letGo(resource, hold);
      throw err;
    }
    if (reply[0] !== 1) {
      await this.letGo(resource, hold);
      if (reply[0] === -5) return null;
      throw new BlackboardError(ErrorCode.UNAVAILABLE, 'board state is being rebuilt; retry');
    }
    const held: HeldLock = { board, name, token: Number(reply[1]), expiresAt: Number(reply[2]), hold, queue: Promise.resolve() };
    try {
      await this.sweeper.register(board, held.expiresAt);
    } catch (err) {
      await this.release(held, holder.actorJson).catch(() => undefined);
      throw err;
    }
    return held;
  }

  /** Pushes the lock's expiry to ttlMs from now; FENCED when it was lost or lapsed. */
  extend(held: HeldLock, holder: Holder, ttlMs: number): Promise<number> {
    return serialize(held, async () => {
      let hold: Lock;
      try {
        hold = await this.redlock.extend(held.hold, ttlMs, { retryCount: 0 });
      } catch (err) {
        const failure = await redlockFailure(err);
        if (failure === 'held') throw fenced(`lock ${held.name} was lost or expired`);
        throw failure;
      }
      held.hold = hold;
      const resource = boardKeys(held.board).lockResource(held.name);
      const reply = await runBoardScript(this.services, 'lock-extend-9', held.board, [resource], [
        held.name,
        holder.agentId,
        holder.actorJson,
        hold.value,
        held.token,
      ]);
      if (reply[0] === 1) {
        held.expiresAt = Number(reply[1]);
        return held.expiresAt;
      }
      // The fence lapsed even though the resource was still ours: let the resource go too.
      await this.letGo(resource, hold);
      if (reply[0] === -2) throw fenced(`lock ${held.name} was lost or expired`);
      throw new BlackboardError(ErrorCode.UNAVAILABLE, 'board state is being rebuilt; retry');
    });
  }

  /**
   * Retires the fencing record and `$locks/<name>` and frees Redlock's resource (if it
   * still holds this hold's value, as Redlock's own release checks) in one script: no
   * fenced write passes once anyone else can take the lock.
   */
  release(held: HeldLock, actorJson: string): Promise<void> {
    return serialize(held, async () => {
      const resource = boardKeys(held.board).lockResource(held.name);
      const reply = await runBoardScript(this.services, 'lock-release-9', held.board, [resource], [
        held.name,
        actorJson,
        held.token,
        held.hold.value,
      ]);
      // Redlock's view of the hold: it is over (its own release would find nothing left).
      held.hold.expiration = 0;
      this.waiters.wakeOne(resource);
      if (reply[0] === 1) return;
      if (reply[0] === -2) throw fenced(`lock ${held.name} was no longer held with token ${held.token}`);
      throw new BlackboardError(ErrorCode.UNAVAILABLE, 'board state is being rebuilt; retry');
    });
  }

  /** Frees Redlock's hold (if still ours) and hands the lock to this node's first waiter. */
  private async letGo(resource: string, hold: Lock): Promise<void> {
    await this.redlock.release(hold).catch(() => undefined);
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

/** 'held' when Redlock failed because the resource is someone else's (or our hold lapsed). */
async function redlockFailure(err: unknown): Promise<'held' | Error> {
  if (!(err instanceof ExecutionError)) return err instanceof Error ? err : new Error(String(err));
  const last = err.attempts[err.attempts.length - 1];
  // Redlock refuses without trying to extend a hold whose time already ran out.
  if (!last) return 'held';
  const stats = await last;
  for (const vote of stats.votesAgainst.values()) if (!(vote instanceof ResourceLockedError)) return vote;
  return 'held';
}

function serialize<T>(held: HeldLock, fn: () => Promise<T>): Promise<T> {
  const run = held.queue.then(fn, fn);
  held.queue = run.catch(() => undefined);
  return run;
}
