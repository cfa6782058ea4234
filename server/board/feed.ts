import type { Logger } from 'pino';
import { boardKeys } from './keys.js';
import { parseRevision } from './event-codec.js';
import type { Revision } from './revision.js';
import type { RedisClient } from './scripts.js';
import type { Subscription } from './subscription.js';

const CATCH_UP_BATCH = 1_000;

/**
 * The live revisions of one board on this node, in order and without gaps. Woken by
 * the commit script's PUBLISH (which carries the revision itself); when a message is
 * missing (a reconnect, a dropped publish) it reads the gap back from the board's stream.
 */
export class BoardFeed {
  readonly subscriptions = new Set<Subscription>();
  lastRev = 0;
  epoch = '';
  private catchingUp: Promise<void> | null = null;
  private pending: Revision[] = [];
  idleSince = 0;

  constructor(
    readonly board: string,
    private readonly redis: RedisClient,
    private readonly log: Logger,
    /** Called when the board's revisions can no longer be followed (history trimmed, epoch changed). */
    private readonly onBroken: (feed: BoardFeed, reason: string) => void,
  ) {}

  onMessage(message: string): void {
    this.accept(parseRevision(message));
  }

  private accept(revision: Revision): void {
    if (this.epoch !== '' && revision.epoch !== this.epoch) {
      this.restart(revision.epoch, revision.rev - 1, 'epoch changed');
      this.dispatch(revision);
      return;
    }
    if (this.catchingUp) {
      this.pending.push(revision);
      return;
    }
    if (revision.rev <= this.lastRev) return;
    if (revision.rev === this.lastRev + 1) {
      this.dispatch(revision);
      return;
    }
    this.pending.push(revision);
    void this.catchUp();
  }

  private dispatch(revision: Revision): void {
    if (this.epoch !== '' && revision.epoch !== this.epoch) {
      this.onBroken(this, 'epoch changed');
      this.epoch = revision.epoch;
    }
    // A feed opened on a board not written yet learns its epoch from its first revision,
    // so that a later change of epoch is noticed.
    if (this.epoch === '') this.epoch = revision.epoch;
    this.lastRev = revision.rev;
    for (const sub of this.subscriptions) sub.offer(revision);
  }

  /**
   * The board's revisions were rebuilt under us (Redis lost data): a new epoch, or a
   * revision counter that went backwards. Subscribers are told to resume (they get
   * EPOCH_CHANGED or carry on from their cursor) and the feed follows the new line.
   */
  restart(epoch: string, rev: number, reason: string): void {
    this.onBroken(this, reason);
    this.epoch = epoch;
    this.lastRev = rev;
    this.pending = [];
  }

  /** Reads every revision after lastRev from the stream, then replays what arrived meanwhile. */
  catchUp(): Promise<void> {
    if (this.catchingUp) return this.catchingUp;
    this.catchingUp = (async () => {
      let failed = false;
      try {
        for (;;) {
          const batch = await readStream(this.redis, this.board, this.lastRev + 1, CATCH_UP_BATCH);
          for (const revision of batch) this.dispatchAcrossGap(revision);
          if (batch.length < CATCH_UP_BATCH) break;
        }
      } catch (err) {
        failed = true;
        this.log.warn({ err, board: this.board }, 'feed catch-up failed; will retry');
      } finally {
        this.catchingUp = null;
      }
      const pending = this.pending.sort((a, b) => a.rev - b.rev);
      this.pending = [];
      if (failed) {
        // Keep what arrived; the next poll retries the read.
        this.pending = pending;
        return;
      }
      for (const revision of pending) this.dispatchAcrossGap(revision);
    })();
    return this.catchingUp;
  }

  /** After a stream read, a revision still past a gap means the gap is gone for good. */
  private dispatchAcrossGap(revision: Revision): void {
    if (revision.rev <= this.lastRev) return;
    if (revision.rev > this.lastRev + 1) {
      this.onBroken(this, `revisions ${this.lastRev + 1}..${revision.rev - 1} are no longer in the stream`);
    }
    this.dispatch(revision);
  }
}

/** Revisions `fromRev` onwards from the board's stream, oldest first. */
export async function readStream(redis: RedisClient, board: string, fromRev: number, count: number): Promise<Revision[]> {
  const entries = (await redis.xrange(boardKeys(board).log, `${Math.max(1, fromRev)}-0`, '+', 'COUNT', count)) as Array<[string, string[]]>;
  return entries.map(([, fields]) => parseRevision(fields[1] ?? ''));
}

/** The oldest revision still in the board's stream, or null when it is empty. */
export async function oldestStreamRev(redis: RedisClient, board: string): Promise<number | null> {
  const entries = (await redis.xrange(boardKeys(board).log, '-', '+', 'COUNT', 1)) as Array<[string, string[]]>;
  const id = entries[0]?.[0];
  return id === undefined ? null : Number(id.split('-')[0]);
}
