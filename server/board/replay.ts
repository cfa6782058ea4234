import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { oldestStreamRev, readStream } from './feed.js';
import type { Revision } from './revision.js';
import type { RedisClient } from './scripts.js';

const REPLAY_BATCH = 1_000;

/**
 * Serves revisions older than the board's Redis stream (history in Postgres). Registered
 * with the replay chain by the extension that keeps them; the stream itself is the chain's.
 */
export interface ReplaySource {
  /** The first revision of `board` this source holds; null when it holds none or cannot tell now. */
  firstRev(board: string): Promise<number | null>;
  /**
   * Revisions from `fromRev` on, oldest first and starting at `fromRev`, all below
   * `before` (the stream's first revision, when the stream holds later ones). Empty
   * when the source holds nothing from `fromRev` on; throws COMPACTED when it holds later
   * revisions but not `fromRev`.
   */
  read(board: string, fromRev: number, before: number | undefined): Promise<Revision[]>;
}

function compacted(compactRev: number, message = `revisions before ${compactRev + 1} are no longer retained`): BlackboardError {
  return new BlackboardError(ErrorCode.COMPACTED, message, { compactRev });
}

/**
 * Serves past revisions to a subscription that resumes with `fromRev`: from the board's
 * Redis stream while it holds them, below it from the sources extensions register, in the
 * order they register.
 */
export class ReplayChain {
  private readonly older: ReplaySource[] = [];

  constructor(private readonly redis: RedisClient) {}

  /** Adds a source for revisions the stream (and the sources added before) no longer hold. */
  addSource(source: ReplaySource): void {
    this.older.push(source);
  }

  /** Throws COMPACTED when revisions from `fromRev` on can no longer be served. */
  async ensureAvailable(board: string, fromRev: number, currentRev: number): Promise<void> {
    if (fromRev > currentRev) return;
    const oldest = await oldestStreamRev(this.redis, board);
    if (oldest !== null && oldest <= fromRev) return;
    let first = oldest;
    for (const source of this.older) {
      const held = await source.firstRev(board);
      if (held !== null && held <= fromRev) return;
      first = held ?? first;
    }
    // Nobody has it (or cannot be asked now): the client re-snapshots.
    throw compacted(Math.max(0, (first ?? currentRev + 1) - 1));
  }

  /**
   * Feeds every retained revision from `fromRev` on, oldest first and without gaps,
   * awaiting `deliver` between batches (it applies the subscriber's backpressure; false
   * stops the walk); resolves with the next revision to read.
   */
  async replay(board: string, fromRev: number, deliver: (revisions: Revision[]) => boolean | void | Promise<boolean | void>): Promise<number> {
    let next = Math.max(1, fromRev);
    for (;;) {
      const batch = await readStream(this.redis, board, next, REPLAY_BATCH);
      const first = batch[0];
      if (first && (first.rev === next || this.older.length === 0)) {
        if ((await deliver(batch)) === false) return next;
        next = batch[batch.length - 1]!.rev + 1;
        if (batch.length < REPLAY_BATCH) return next;
        continue;
      }
      if (!first && this.older.length === 0) return next;
      // The stream starts after `next` (or holds nothing from it): an older source serves the gap.
      const revisions = await this.fromOlder(board, next, first?.rev);
      if (revisions.length === 0) {
        if (!first) return next;
        throw compacted(Math.max(0, first.rev - 1), `revision ${next} is no longer retained`);
      }
      if ((await deliver(revisions)) === false) return next;
      next = revisions[revisions.length - 1]!.rev + 1;
    }
  }

  private async fromOlder(board: string, fromRev: number, before: number | undefined): Promise<Revision[]> {
    for (const source of this.older) {
      const revisions = await source.read(board, fromRev, before);
      if (revisions.length > 0) return revisions;
    }
    return [];
  }
}
