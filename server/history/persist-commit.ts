import { sql } from 'drizzle-orm';
import type { Revision } from '../board/revision.js';
import type { HistoryDb } from './db.js';
import { revisionRecords, type EventRecord } from './event-codec.js';
import { advanceWatermark, toRuns, type RevRange } from './watermark.js';

export interface StreamEntry {
  id: string;
  revision: Revision;
}

/** The board's meta as read beside the entries. */
export interface BoardHead {
  rev: number;
  epoch: string;
  epochRev: number;
  /** Where history starts for a board Postgres does not know yet. */
  startRev: number;
}

export interface BoardBatch {
  board: string;
  /** Ascending stream entries. */
  entries: StreamEntry[];
  head: BoardHead | null;
}

export interface CommitReport {
  board: string;
  epoch: string;
  watermark: number;
  /** Stream ids that may be acknowledged (committed, already present, or of a dead epoch). */
  ackIds: string[];
  /** Set when the board's Redis epoch is not the one Postgres accepts. */
  epochMismatch: boolean;
}

/** Statement parameters are sent as text: split inserts so no statement carries more than this. */
const MAX_INSERT_BYTES = 1024 * 1024;
const MAX_INSERT_ROWS = 20_000;

function chunks(records: EventRecord[]): EventRecord[][] {
  const out: EventRecord[][] = [];
  let current: EventRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = (r.value?.length ?? 0) + (r.patch?.length ?? 0) + (r.raw?.length ?? 0) + r.key.length + 64;
    if (current.length > 0 && (bytes + size > MAX_INSERT_BYTES || current.length >= MAX_INSERT_ROWS)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

type Tx = Parameters<Parameters<HistoryDb['transaction']>[0]>[0];

async function insertEvents(tx: Tx, board: string[], records: EventRecord[]): Promise<number> {
  let inserted = 0;
  let offset = 0;
  for (const part of chunks(records)) {
    const boards = board.slice(offset, offset + part.length);
    offset += part.length;
    const result = await tx.execute(sql`
      INSERT INTO events (board, rev, key, pos, type, version, value, patch, actor, ts, raw)
      SELECT * FROM unnest(
        ${sql.param(boards)}::text[], ${sql.param(part.map((r) => r.rev))}::int8[],
        ${sql.param(part.map((r) => r.key))}::text[], ${sql.param(part.map((r) => r.pos))}::int4[],
        ${sql.param(part.map((r) => r.type))}::int2[], ${sql.param(part.map((r) => r.version))}::int8[],
        ${sql.param(part.map((r) => r.value))}::text[], ${sql.param(part.map((r) => r.patch))}::text[],
        ${sql.param(part.map((r) => r.actor))}::text[], ${sql.param(part.map((r) => r.ts))}::int8[],
        ${sql.param(part.map((r) => r.raw))}::text[])
      ON CONFLICT DO NOTHING`);
    inserted += result.rowCount ?? 0;
  }
  return inserted;
}

/**
 * Commits the entries of several boards in one transaction: rows land with
 * `INSERT … SELECT FROM unnest … ON CONFLICT DO NOTHING` (replays are harmless), only
 * entries of the epoch Postgres accepts for the board are written, and each board's
 * contiguous watermark moves over the runs that close its gaps.
 */
export async function commitBatches(
  db: HistoryDb,
  batches: BoardBatch[],
  /** Boards known to have their row already (their insert is skipped). */
  known: ReadonlySet<string> = new Set(),
): Promise<{ reports: CommitReport[]; inserted: number }> {
  const withHead = batches.filter((b) => b.head !== null && !known.has(b.board));
  return db.transaction(async (tx) => {
    if (withHead.length > 0) {
      await tx.execute(sql`
        INSERT INTO boards (name, epoch, epoch_rev, persisted_rev, seen_rev, first_rev, snapshot_rev)
        SELECT v.name, v.epoch, v.epoch_rev, v.start_rev, v.start_rev, v.start_rev + 1, 0
        FROM unnest(${sql.param(withHead.map((b) => b.board))}::text[],
                    ${sql.param(withHead.map((b) => b.head!.epoch))}::text[],
                    ${sql.param(withHead.map((b) => b.head!.epochRev))}::int8[],
                    ${sql.param(withHead.map((b) => b.head!.startRev))}::int8[])
             AS v(name, epoch, epoch_rev, start_rev)
        ORDER BY v.name
        ON CONFLICT (name) DO NOTHING`);
    }
    const names = batches.map((b) => b.board);
    const locked = await tx.execute<{ name: string; epoch: string; persisted_rev: string }>(sql`
      SELECT name, epoch, persisted_rev FROM boards WHERE name = ANY(${sql.param(names)}::text[])
      ORDER BY name FOR UPDATE`);
    const rows = new Map(locked.rows.map((r) => [r.name, { epoch: r.epoch, persisted: Number(r.persisted_rev) }]));

    const reports: CommitReport[] = [];
    const insertBoards: string[] = [];
    const insertRecords: EventRecord[] = [];
    const newRuns = new Map<string, RevRange[]>();
    for (const batch of batches) {
      const row = rows.get(batch.board);
      if (!row) continue;
      const report: CommitReport = {
        board: batch.board,
        epoch: row.epoch,
        watermark: row.persisted,
        ackIds: [],
        epochMismatch: batch.head !== null && batch.head.epoch !== row.epoch,
      };
      const accepted: number[] = [];
      for (const entry of batch.entries) {
        const { revision } = entry;
        if (revision.epoch !== row.epoch) {
          // Entries of the epoch Redis is living in stay pending until the two agree;
          // entries of an older epoch were superseded by a rebuild and are dropped.
          if (batch.head === null || revision.epoch !== batch.head.epoch) report.ackIds.push(entry.id);
          continue;
        }
        report.ackIds.push(entry.id);
        if (revision.rev <= row.persisted) continue;
        accepted.push(revision.rev);
        for (const record of revisionRecords(revision)) {
          insertBoards.push(batch.board);
          insertRecords.push(record);
        }
      }
      if (accepted.length > 0) newRuns.set(batch.board, toRuns(accepted));
      reports.push(report);
    }
    const inserted = insertRecords.length > 0 ? await insertEvents(tx, insertBoards, insertRecords) : 0;

    const touched = [...newRuns.keys()];
    if (touched.length > 0) {
      // Taken out and written back below: whatever the watermark does not absorb returns.
      const waitingRows = await tx.execute<{ board: string; from_rev: string; to_rev: string }>(sql`
        DELETE FROM persist_ranges WHERE board = ANY(${sql.param(touched)}::text[]) RETURNING board, from_rev, to_rev`);
      const waitingByBoard = new Map<string, RevRange[]>();
      for (const r of waitingRows.rows) {
        const list = waitingByBoard.get(r.board) ?? [];
        list.push({ from: Number(r.from_rev), to: Number(r.to_rev) });
        waitingByBoard.set(r.board, list);
      }
      const rangeBoards: string[] = [];
      const rangeFrom: number[] = [];
      const rangeTo: number[] = [];
      const seen: number[] = [];
      for (const report of reports) {
        const runs = newRuns.get(report.board);
        if (!runs) continue;
        const next = advanceWatermark(report.watermark, [...(waitingByBoard.get(report.board) ?? []), ...runs]);
        report.watermark = next.watermark;
        for (const r of next.waiting) {
          rangeBoards.push(report.board);
          rangeFrom.push(r.from);
          rangeTo.push(r.to);
        }
        const batch = batches.find((b) => b.board === report.board);
        seen.push(batch?.head && !report.epochMismatch ? Math.max(batch.head.rev, next.watermark) : next.watermark);
      }
      if (rangeBoards.length > 0) {
        await tx.execute(sql`
          INSERT INTO persist_ranges (board, from_rev, to_rev)
          SELECT * FROM unnest(${sql.param(rangeBoards)}::text[], ${sql.param(rangeFrom)}::int8[], ${sql.param(rangeTo)}::int8[])`);
      }
      const updated = reports.filter((r) => newRuns.has(r.board));
      await tx.execute(sql`
        UPDATE boards AS b SET persisted_rev = v.pw, seen_rev = GREATEST(b.seen_rev, v.seen), updated_at = now()
        FROM unnest(${sql.param(updated.map((r) => r.board))}::text[], ${sql.param(updated.map((r) => r.watermark))}::int8[],
                    ${sql.param(seen)}::int8[]) AS v(name, pw, seen)
        WHERE b.name = v.name`);
    }
    return { reports, inserted };
  });
}

/** A commit to Postgres failed; `unreachable` when Postgres itself is away. */
export class PostgresFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly unreachable: boolean,
  ) {
    super(`history commit failed: ${(cause as Error)?.message ?? String(cause)}`);
  }
}
