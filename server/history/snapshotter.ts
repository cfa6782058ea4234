import { and, desc, eq, inArray, lt, lte, type SQL, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { HistoryDb } from './db.js';
import type { HistoryRepo } from './repo.js';
import { boards, snapshotKeys, snapshots } from './schema/index.js';

/**
 * The statement that writes the snapshot of `board` at `rev` from the one at `base` (0: none)
 * and the events in (base, rev]. Built in SQL, beyond the query builder.
 *
 * It joins nothing: the base's records and the range's events are sorted together by key,
 * and each key keeps its newest event of the range, or else its base record. An anti join
 * (base keys with no event in the range) did the same, but its cost was the planner's
 * choice: on a board that grew faster than the table's statistics it chose a nested loop
 * that rescanned the whole range for every base key (a 10,000-revision board: 86 million
 * rows read, 25 s of a Postgres core). Sorting costs (keys + events) × log of that, whatever
 * the statistics say; the creation revision of a key changed in the range is one index probe.
 */
export function snapshotBuild(board: string, base: number, rev: number): SQL {
  return sql`
    INSERT INTO snapshot_keys (board, snap_rev, key, version, create_rev, mod_rev, value)
    SELECT ${board}, ${rev}, s.key, s.version,
      CASE WHEN s.from_base THEN s.create_rev ELSE COALESCE(
        (SELECT c.rev FROM events c WHERE c.board = ${board} AND c.key = s.key AND c.version = 1 AND c.rev <= s.mod_rev
         ORDER BY c.rev DESC LIMIT 1),
        (SELECT b.create_rev FROM snapshot_keys b WHERE b.board = ${board} AND b.snap_rev = ${base} AND b.key = s.key),
        s.mod_rev) END,
      s.mod_rev, s.value
    FROM (
      SELECT DISTINCT ON (u.key) u.key, u.live, u.version, u.create_rev, u.mod_rev, u.value, u.from_base
      FROM (
        SELECT e.key, e.type = 1 AS live, e.version, NULL::int8 AS create_rev, e.rev AS mod_rev, e.value, false AS from_base
        FROM events e WHERE e.board = ${board} AND e.rev > ${base} AND e.rev <= ${rev}
        UNION ALL
        SELECT b.key, true, b.version, b.create_rev, b.mod_rev, b.value, true
        FROM snapshot_keys b WHERE b.board = ${board} AND b.snap_rev = ${base}
      ) u
      ORDER BY u.key, u.from_base, u.mod_rev DESC
    ) s
    WHERE s.live
    ON CONFLICT DO NOTHING`;
}

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
      const inserted = await tx.execute(snapshotBuild(board, base, rev));
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
