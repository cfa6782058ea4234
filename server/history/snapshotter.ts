import { and, desc, eq, inArray, lt, lte, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { HistoryDb } from './db.js';
import type { HistoryRepo } from './repo.js';
import { boards, snapshotKeys, snapshots } from './schema/index.js';

const KEEP_SNAPSHOTS = 2;

/**
 * Periodic per-board snapshots (every `every` persisted revisions), so a rebuild reads
 * one snapshot plus a bounded tail of events instead of a board's whole life. Each is
 * built in SQL from the previous snapshot and the events since.
 */
export class Snapshotter {
  private readonly queue = new Map<string, number>();
  private running = false;
  private readonly lastRev = new Map<string, number>();

  constructor(
    private readonly db: HistoryDb,
    private readonly repo: HistoryRepo,
    private readonly log: Logger,
    private readonly every: number,
  ) {}

  /** The board is persisted up to `watermark`: snapshot it in the background if one is due. */
  consider(board: string, watermark: number): void {
    const last = this.lastRev.get(board);
    if (last !== undefined && watermark - last < this.every) return;
    if (last === undefined && watermark < this.every) return;
    if (this.queue.size >= 10_000) return;
    this.queue.set(board, watermark);
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.size > 0) {
        const [board, rev] = this.queue.entries().next().value as [string, number];
        this.queue.delete(board);
        try {
          await this.snapshot(board, rev, false);
        } catch (err) {
          this.log.warn({ err, board }, 'snapshot failed; the next one will cover it');
        }
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * Writes the snapshot of `board` at `rev` (which must be at or below the watermark).
   * Unless forced, another node's recent snapshot makes this one unnecessary.
   */
  async snapshot(board: string, rev: number, force: boolean): Promise<void> {
    const claimed = await this.db
      .update(boards)
      .set({ snapshotRev: rev })
      .where(and(eq(boards.name, board), lt(boards.snapshotRev, rev), force ? undefined : lte(boards.snapshotRev, rev - this.every)))
      .returning({ snapshotRev: boards.snapshotRev });
    this.lastRev.set(board, rev);
    if (this.lastRev.size > 100_000) this.lastRev.clear();
    if (claimed.length === 0 && !force) return;
    const base = (await this.repo.snapshotAt(board, rev))?.rev ?? 0;
    if (base === rev) return;
    await this.db.transaction(async (tx) => {
      // Built in SQL from the base snapshot and the events since: beyond the query builder.
      const inserted = await tx.execute(sql`
        INSERT INTO snapshot_keys (board, snap_rev, key, version, create_rev, mod_rev, value)
        SELECT ${board}, ${rev}, s.key, s.version, s.create_rev, s.mod_rev, s.value FROM (
          SELECT b.key, b.version, b.create_rev, b.mod_rev, b.value FROM snapshot_keys b
          WHERE b.board = ${board} AND b.snap_rev = ${base} AND NOT EXISTS (
            SELECT 1 FROM events e WHERE e.board = ${board} AND e.key = b.key AND e.rev > ${base} AND e.rev <= ${rev})
          UNION ALL
          SELECT d.key, d.version, COALESCE(
              (SELECT c.rev FROM events c WHERE c.board = ${board} AND c.key = d.key AND c.version = 1 AND c.rev <= d.rev
               ORDER BY c.rev DESC LIMIT 1),
              (SELECT b.create_rev FROM snapshot_keys b WHERE b.board = ${board} AND b.snap_rev = ${base} AND b.key = d.key),
              d.rev),
            d.rev, d.value
          FROM (SELECT DISTINCT ON (key) key, type, version, rev, value FROM events
                WHERE board = ${board} AND rev > ${base} AND rev <= ${rev} ORDER BY key, rev DESC) d
          WHERE d.type = 1
        ) s
        ON CONFLICT DO NOTHING`);
      await tx
        .insert(snapshots)
        .values({ board, rev, keyCount: inserted.rowCount ?? 0 })
        .onConflictDoNothing();
      // Older snapshots are no longer needed for rebuilds; the events stay (they are the history).
      const old = await tx.select({ rev: snapshots.rev }).from(snapshots).where(eq(snapshots.board, board)).orderBy(desc(snapshots.rev)).offset(KEEP_SNAPSHOTS);
      if (old.length > 0) {
        const revs = old.map((o) => o.rev);
        await tx.delete(snapshotKeys).where(and(eq(snapshotKeys.board, board), inArray(snapshotKeys.snapRev, revs)));
        await tx.delete(snapshots).where(and(eq(snapshots.board, board), inArray(snapshots.rev, revs)));
      }
    });
    this.log.debug({ board, rev, base }, 'snapshot written');
  }
}
