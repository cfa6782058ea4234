import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { readStream } from '../board/feed.js';
import type { Revision } from '../board/revision.js';
import type { RedisClient } from '../board/scripts.js';
import { toRevisions } from '../board/event-codec.js';
import type { HistoryRepo } from './repo.js';

const STREAM_BATCH = 1_000;
const PG_REVISIONS = 1_000;
const PG_ROWS = 100_000;

/**
 * Revisions of a board from `fromRev` on, oldest first, without gap or repeat: from the
 * Redis stream while it still holds them, from Postgres below it. The stream is never
 * trimmed past the persisted watermark + 1, so the two always meet; when the watermark
 * moves during the walk, a gap in the stream is filled from Postgres again.
 */
export async function walkRevisions(
  redis: RedisClient,
  repo: HistoryRepo,
  board: string,
  fromRev: number,
  /** Awaited before the next batch is read: a replay is paced by its subscriber. */
  deliver: (revisions: Revision[]) => boolean | void | Promise<boolean | void>,
): Promise<number> {
  let next = Math.max(1, fromRev);
  for (;;) {
    const batch = await readStream(redis, board, next, STREAM_BATCH);
    const first = batch[0];
    if (first && first.rev === next) {
      if ((await deliver(batch)) === false) return next;
      next = batch[batch.length - 1]!.rev + 1;
      if (batch.length < STREAM_BATCH) return next;
      continue;
    }
    const info = await repo.board(board);
    const watermark = info?.persistedRev ?? 0;
    if (!first && next > watermark) return next;
    const upTo = Math.min(watermark, next + PG_REVISIONS - 1, first ? first.rev - 1 : Number.MAX_SAFE_INTEGER);
    if (!info || upTo < next || info.firstRev > next) {
      throw new BlackboardError(ErrorCode.COMPACTED, `revision ${next} is no longer retained`, {
        compactRev: Math.max(0, (first?.rev ?? next) - 1),
      });
    }
    let records = await repo.eventRange(board, undefined, next, upTo, PG_ROWS);
    if (records.length === PG_ROWS) {
      const lastRev = records[records.length - 1]!.rev;
      records = records.filter((r) => r.rev < lastRev);
    }
    const revisions = toRevisions(records, info.epoch);
    if (revisions.length === 0 || revisions[0]!.rev !== next) {
      throw new BlackboardError(ErrorCode.COMPACTED, `revision ${next} is missing from history`, { compactRev: next - 1 });
    }
    if ((await deliver(revisions)) === false) return next;
    next = revisions[revisions.length - 1]!.rev + 1;
  }
}
