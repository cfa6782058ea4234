import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { oldestStreamRev, readStream } from './feed.js';
import type { Revision } from './revision.js';
import type { RedisClient } from './scripts.js';

const REPLAY_BATCH = 1_000;

/** Serves past revisions to a subscription that resumes with `fromRev`. */
export interface Replayer {
  /** Throws COMPACTED when revisions from `fromRev` on can no longer be served. */
  ensureAvailable(board: string, fromRev: number, currentRev: number): Promise<void>;
  /**
   * Feeds every retained revision from `fromRev` on, oldest first, awaiting `deliver`
   * between batches (it applies the subscriber's backpressure); resolves with the next
   * revision to read.
   */
  replay(board: string, fromRev: number, deliver: (revisions: Revision[]) => Promise<void>): Promise<number>;
}

/** Replays from the board's Redis stream alone. */
export class StreamReplayer implements Replayer {
  constructor(private readonly redis: RedisClient) {}

  async ensureAvailable(board: string, fromRev: number, currentRev: number): Promise<void> {
    if (fromRev > currentRev) return;
    const oldest = await oldestStreamRev(this.redis, board);
    if (oldest === null || oldest > fromRev) {
      const compactRev = (oldest ?? currentRev + 1) - 1;
      throw new BlackboardError(ErrorCode.COMPACTED, `revisions before ${compactRev + 1} are no longer retained`, {
        compactRev,
      });
    }
  }

  async replay(board: string, fromRev: number, deliver: (revisions: Revision[]) => Promise<void>): Promise<number> {
    let next = fromRev;
    for (;;) {
      const batch = await readStream(this.redis, board, next, REPLAY_BATCH);
      if (batch.length > 0) {
        await deliver(batch);
        next = batch[batch.length - 1]!.rev + 1;
      }
      if (batch.length < REPLAY_BATCH) return next;
    }
  }
}
