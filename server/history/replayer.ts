import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { oldestStreamRev } from '../board/feed.js';
import type { Replayer } from '../board/replay.js';
import type { Revision } from '../board/revision.js';
import type { RedisClient } from '../board/scripts.js';
import type { PgHealth } from './pg-health.js';
import type { HistoryRepo } from './repo.js';
import { walkRevisions } from './revisions.js';

/**
 * Replays `fromRev` onwards from Postgres up to the watermark and then from the Redis
 * stream. The subscription's cursor drops anything the live feed already delivered.
 */
export class HistoryReplayer implements Replayer {
  constructor(
    private readonly redis: RedisClient,
    private readonly repo: HistoryRepo,
    private readonly health: PgHealth,
  ) {}

  async ensureAvailable(board: string, fromRev: number, currentRev: number): Promise<void> {
    if (fromRev > currentRev) return;
    const oldest = await oldestStreamRev(this.redis, board);
    if (oldest !== null && oldest <= fromRev) return;
    let firstRev: number | null = null;
    if (this.health.up) {
      try {
        const info = await this.repo.board(board);
        if (info) firstRev = info.firstRev;
      } catch (err) {
        this.health.noteError(err);
      }
    }
    if (firstRev !== null && firstRev <= fromRev) return;
    // Not even Postgres has it (or Postgres cannot be asked): the client re-snapshots.
    const compactRev = Math.max(0, (firstRev ?? oldest ?? currentRev + 1) - 1);
    throw new BlackboardError(ErrorCode.COMPACTED, `revisions before ${compactRev + 1} are no longer retained`, {
      compactRev,
    });
  }

  replay(board: string, fromRev: number, deliver: (revisions: Revision[]) => Promise<void>): Promise<number> {
    return walkRevisions(this.redis, this.repo, board, fromRev, deliver);
  }
}
