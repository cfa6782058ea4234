import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { toRevisions } from '../board/event-codec.js';
import type { ReplaySource } from '../board/replay.js';
import type { Revision } from '../board/revision.js';
import type { PgHealth } from './pg-health.js';
import type { HistoryRepo } from './repo.js';

const PG_REVISIONS = 1_000;
const PG_ROWS = 100_000;

/**
 * Serves the replay chain the revisions below the Redis stream, from Postgres up to the
 * persisted watermark. The stream is never trimmed past the watermark + 1, so the two
 * meet; the subscription's cursor drops anything the live feed already delivered.
 */
export class HistoryReplaySource implements ReplaySource {
  constructor(
    private readonly repo: HistoryRepo,
    private readonly health: PgHealth,
  ) {}

  async firstRev(board: string): Promise<number | null> {
    if (!this.health.up) return null;
    try {
      return (await this.repo.board(board))?.firstRev ?? null;
    } catch (err) {
      this.health.noteError(err);
      return null;
    }
  }

  async read(board: string, fromRev: number, before: number | undefined): Promise<Revision[]> {
    const info = await this.repo.board(board);
    const watermark = info?.persistedRev ?? 0;
    const upTo = Math.min(watermark, fromRev + PG_REVISIONS - 1, (before ?? Number.MAX_SAFE_INTEGER) - 1);
    if (!info || upTo < fromRev) return [];
    if (info.firstRev > fromRev) {
      throw new BlackboardError(ErrorCode.COMPACTED, `revision ${fromRev} is no longer retained`, {
        compactRev: Math.max(0, (before ?? fromRev) - 1),
      });
    }
    let records = await this.repo.eventRange(board, undefined, fromRev, upTo, PG_ROWS);
    if (records.length === PG_ROWS) {
      const lastRev = records[records.length - 1]!.rev;
      records = records.filter((r) => r.rev < lastRev);
    }
    const revisions = toRevisions(records, info.epoch);
    if (revisions.length === 0 || revisions[0]!.rev !== fromRev) {
      throw new BlackboardError(ErrorCode.COMPACTED, `revision ${fromRev} is missing from history`, { compactRev: fromRev - 1 });
    }
    return revisions;
  }
}
