import pg from 'pg';
import { copyEvents, insertEventRows, type BoardRows } from './copy-rows.js';
import { isConnectionError, type HistoryDb } from './db.js';
import { revisionRows, type EventRecord } from '../board/event-codec.js';
import type { IndexMemo } from '../search/index-memo.js';
import { applyIndexChanges, isIndexedKey, type IndexChange } from '../search/index-writer.js';
import { advanceWatermark, toRuns, type RevRange } from './watermark.js';

const { escapeLiteral } = pg;

/**
 * A stream entry: its revision message, of which only the revision and epoch are read
 * beforehand. Its events are decoded as their rows are written (RoundRows), so what a read
 * keeps until its round commits is one string an entry, not its rows' objects (which a busy
 * node's young-generation collections would copy again and again).
 */
export interface StreamEntry {
  id: string;
  rev: number;
  epoch: string;
  message: string;
}

/** The board's meta as read beside the entries. */
interface BoardHead {
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

interface CommitReport {
  board: string;
  epoch: string;
  watermark: number;
  /** Stream ids that may be acknowledged (committed, already present, or of a dead epoch). */
  ackIds: string[];
  /** Set when the board's Redis epoch is not the one Postgres accepts. */
  epochMismatch: boolean;
}

/**
 * How event rows are written. `copy`: COPY straight into `events`, for rows known to be
 * absent. `skip-present`: COPY into a staging table, then `INSERT … SELECT … ON CONFLICT
 * DO NOTHING`, for a round that found rows present that nothing recorded. A round of a few
 * rows is one `INSERT … ON CONFLICT DO NOTHING` in either mode.
 */
type RowMode = 'copy' | 'skip-present';

const UNIQUE_VIOLATION = '23505';

/**
 * Commits the entries of several boards in one transaction (see commitRound). Rows go in
 * with COPY; should one be there already although neither the board's watermark nor its
 * waiting ranges account for it, the unique key refuses the COPY and the round is written
 * again in `skip-present` mode, so replays stay harmless and every row lands once.
 */
export async function commitBatches(
  db: HistoryDb,
  batches: BoardBatch[],
  /** Boards known to have their row already (their insert is skipped). */
  known: ReadonlySet<string> = new Set(),
  /** What the search index is known to hold (the persister's; see IndexMemo). */
  memo?: IndexMemo,
): Promise<{ reports: CommitReport[]; inserted: number }> {
  const client = await db.$client.connect();
  let broken: Error | undefined;
  const attempt = async (mode: RowMode) => {
    try {
      return await commitRound(client, batches, known, mode, memo);
    } catch (err) {
      memo?.forget(batches.map((b) => b.board));
      if (isConnectionError(err)) broken = err as Error;
      await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr));
      throw err;
    }
  };
  try {
    try {
      return await attempt('copy');
    } catch (err) {
      if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err;
    }
    return await attempt('skip-present');
  } finally {
    // A client whose connection failed, or that could not roll back, is closed, not reused.
    client.release(broken);
  }
}

/**
 * One persister round, its transaction from BEGIN to COMMIT: boards Postgres does not know
 * get their row; the boards' rows are locked (so rounds of several nodes on one board take
 * turns); only entries of the epoch Postgres accepts and above its watermark count; the
 * revisions a previous round committed past a gap (`persist_ranges`) are not written again;
 * the rest are written as rows; each watermark moves over the runs that close its gaps, and
 * the runs still past a gap are recorded. Statements that must commit with the events (an
 * index of them, say) belong here, after the rows are written.
 *
 * The statements before the rows (BEGIN, the boards' insert and lock, the ranges read) go
 * as one text, and so do those after the index (the ranges, the watermarks, COMMIT): one
 * round trip each, where a round trip a statement costs a turn of this process's event loop,
 * which on a busy node is most of it. Postgres runs such a text's statements one after the
 * other, each with a snapshot of its own, and skips the rest after one fails.
 */
async function commitRound(
  client: pg.PoolClient,
  batches: BoardBatch[],
  known: ReadonlySet<string>,
  mode: RowMode,
  memo: IndexMemo | undefined,
): Promise<{ reports: CommitReport[]; inserted: number }> {
  const names = batches.map((b) => b.board);
  const opening = ['BEGIN'];
  const fresh = batches.filter((b) => b.head !== null && !known.has(b.board));
  if (fresh.length > 0) opening.push(ensureBoardsStatement(fresh));
  // The ranges are read after the lock is held: a round of another node that held it has
  // committed its ranges by then (a statement sees what committed before it started).
  opening.push(
    `SELECT name, epoch, persisted_rev FROM boards WHERE name = ANY(${textArray(names)}) ORDER BY name FOR UPDATE`,
    `SELECT board, from_rev, to_rev FROM persist_ranges WHERE board = ANY(${textArray(names)})`,
  );
  const results = (await client.query(opening.join(';\n'))) as unknown as pg.QueryResult[];
  const locked = results.at(-2)!.rows as Array<{ name: string; epoch: string; persisted_rev: string }>;
  const rows = new Map(locked.map((r) => [r.name, { epoch: r.epoch, persisted: Number(r.persisted_rev) }]));
  const { reports, accepted } = acceptEntries(batches, rows);
  const waiting = waitingRanges(results.at(-1)!.rows as RangeRow[], accepted);
  const round = new RoundRows(accepted, waiting);
  const inserted = await writeEvents(client, round, mode);
  // The search index commits with the events it reflects. The rows a previous round committed
  // past a gap are not written again, nor their changes applied again: that round applied them,
  // and every index statement compares revisions with the events table.
  const changesByBoard = round.indexChanges();
  // A board whose row this round created (the boards' insert, results[1], returns them) has no
  // documents yet: its puts skip the look-up for one.
  if (fresh.length > 0) {
    for (const { name } of results[1]!.rows as Array<{ name: string }>) for (const c of changesByBoard.get(name) ?? []) c.again = false;
  }
  const changes = [...changesByBoard.values()].flat();
  if (memo) for (const r of reports) if (accepted.has(r.board)) memo.check(r.board, r.epoch, r.watermark, !waiting.has(r.board));
  if (changes.length > 0) await applyIndexChanges(client, memo ? memo.pending(changes) : changes);
  await client.query([...watermarkStatements(batches, reports, accepted, waiting), 'COMMIT'].join(';\n'));
  if (memo) rememberIndex(memo, reports, accepted, waiting, changesByBoard);
  return { reports, inserted };
}

/**
 * After COMMIT: a board the round left without a gap (nothing waited past one before it, and
 * its watermark now covers every revision the round wrote) had its index written by this
 * round from the board's whole history; the memo takes the round's changes. Any other board is
 * forgotten.
 */
function rememberIndex(
  memo: IndexMemo,
  reports: CommitReport[],
  accepted: Map<string, StreamEntry[]>,
  waiting: Map<string, RevRange[]>,
  changesByBoard: Map<string, IndexChange[]>,
): void {
  for (const report of reports) {
    const revisions = accepted.get(report.board);
    if (!revisions) continue;
    const gapFree = !waiting.has(report.board) && revisions[revisions.length - 1]!.rev <= report.watermark;
    if (gapFree) memo.committed(report.board, report.epoch, report.watermark, changesByBoard.get(report.board) ?? []);
    else memo.forget([report.board]);
  }
}

/** `ARRAY[…]::text[]` of the strings, each an escaped literal. */
function textArray(values: readonly string[]): string {
  return values.length === 0 ? "'{}'::text[]" : `ARRAY[${values.map((v) => escapeLiteral(v)).join(',')}]::text[]`;
}

/** `ARRAY[…]::int8[]` of the integers. */
function intArray(values: readonly number[]): string {
  for (const v of values) if (!Number.isSafeInteger(v)) throw new Error(`not an integer: ${v}`);
  return values.length === 0 ? "'{}'::int8[]" : `ARRAY[${values.join(',')}]::int8[]`;
}

/**
 * The rows a round writes: the accepted revisions, board by board, but those a previous round
 * committed past a gap (they are present). Each revision is decoded as its rows are taken
 * (`rows`, once), and the newest change of every key is gathered on the way, for the index.
 */
class RoundRows {
  private readonly boards: Array<{ board: string; entries: StreamEntry[] }> = [];
  private readonly newest = new Map<string, Map<string, { record: EventRecord; again: boolean }>>();
  /** Revisions to write. */
  readonly revisions: number;

  constructor(accepted: Map<string, StreamEntry[]>, waiting: Map<string, RevRange[]>) {
    let revisions = 0;
    for (const [board, all] of accepted) {
      const present = waiting.get(board);
      const entries = present ? all.filter((e) => !present.some((r) => e.rev >= r.from && e.rev <= r.to)) : all;
      if (entries.length === 0) continue;
      this.boards.push({ board, entries });
      revisions += entries.length;
    }
    this.revisions = revisions;
  }

  /** Each revision's rows, decoded now. */
  *rows(): Generator<BoardRows> {
    for (const { board, entries } of this.boards) {
      let newest = this.newest.get(board);
      if (!newest) this.newest.set(board, (newest = new Map()));
      for (const entry of entries) {
        const { records } = revisionRows(entry.message);
        for (const r of records) {
          const seen = newest.get(r.key);
          if (!seen) newest.set(r.key, { record: r, again: false });
          else if (seen.record.rev < r.rev) {
            seen.again = r.type === 1 && seen.record.type === 1 && seen.record.value === r.value;
            seen.record = r;
          }
        }
        yield { board, records };
      }
    }
  }

  /**
   * After `rows`, board by board: the newest event of each indexed key the rows touched (the
   * index keeps nothing older), and whether the round put that same value on the key before
   * it (see IndexChange.again).
   */
  indexChanges(): Map<string, IndexChange[]> {
    const out = new Map<string, IndexChange[]>();
    for (const [board, newest] of this.newest) {
      const changes: IndexChange[] = [];
      for (const { record: r, again } of newest.values()) {
        if (!isIndexedKey(r.key)) continue;
        changes.push({ board, key: r.key, rev: r.rev, version: r.version, value: r.type === 1 ? (r.value ?? 'null') : null, again });
      }
      if (changes.length > 0) out.set(board, changes);
    }
    return out;
  }
}

function ensureBoardsStatement(batches: BoardBatch[]): string {
  return `INSERT INTO boards (name, epoch, epoch_rev, persisted_rev, seen_rev, first_rev, snapshot_rev)
     SELECT v.name, v.epoch, v.epoch_rev, v.start_rev, v.start_rev, v.start_rev + 1, 0
     FROM unnest(${textArray(batches.map((b) => b.board))}, ${textArray(batches.map((b) => b.head!.epoch))},
                 ${intArray(batches.map((b) => b.head!.epochRev))}, ${intArray(batches.map((b) => b.head!.startRev))}) AS v(name, epoch, epoch_rev, start_rev)
     ORDER BY v.name
     ON CONFLICT (name) DO NOTHING
     RETURNING name`;
}

/** Which entries count (their epoch is the board's, their revision above its watermark) and which may be acknowledged. */
function acceptEntries(
  batches: BoardBatch[],
  rows: Map<string, { epoch: string; persisted: number }>,
): { reports: CommitReport[]; accepted: Map<string, StreamEntry[]> } {
  const reports: CommitReport[] = [];
  const accepted = new Map<string, StreamEntry[]>();
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
    const revisions: StreamEntry[] = [];
    for (const entry of batch.entries) {
      const { id } = entry;
      if (entry.epoch !== row.epoch) {
        // Entries of the epoch Redis is living in stay pending until the two agree;
        // entries of an older epoch were superseded by a rebuild and are dropped.
        if (batch.head === null || entry.epoch !== batch.head.epoch) report.ackIds.push(id);
        continue;
      }
      report.ackIds.push(id);
      if (entry.rev > row.persisted) revisions.push(entry);
    }
    if (revisions.length > 0) accepted.set(batch.board, revisions);
    reports.push(report);
  }
  return { reports, accepted };
}

type RangeRow = { board: string; from_rev: string; to_rev: string };

/** The runs committed past a gap earlier, of the boards with accepted revisions: their rows are present. */
function waitingRanges(rows: RangeRow[], accepted: Map<string, StreamEntry[]>): Map<string, RevRange[]> {
  const byBoard = new Map<string, RevRange[]>();
  for (const r of rows) {
    if (!accepted.has(r.board)) continue;
    const list = byBoard.get(r.board) ?? [];
    list.push({ from: Number(r.from_rev), to: Number(r.to_rev) });
    byBoard.set(r.board, list);
  }
  return byBoard;
}

/** Rounds of at most this many rows go in with one INSERT (one round trip) rather than COPY (two). */
const SMALL_ROUND_ROWS = 64;

async function writeEvents(client: pg.PoolClient, round: RoundRows, mode: RowMode): Promise<number> {
  if (round.revisions === 0) return 0;
  let rows: Iterable<BoardRows> = round.rows();
  if (round.revisions <= SMALL_ROUND_ROWS) {
    const decoded = [...rows];
    let count = 0;
    for (const { records } of decoded) count += records.length;
    if (count <= SMALL_ROUND_ROWS) return insertEventRows(client, decoded);
    rows = decoded;
  }
  if (mode === 'copy') return copyEvents(client, 'events', rows);
  await client.query('CREATE TEMP TABLE IF NOT EXISTS events_incoming (LIKE events) ON COMMIT DELETE ROWS');
  await copyEvents(client, 'events_incoming', rows);
  const result = await client.query('INSERT INTO events SELECT * FROM events_incoming ON CONFLICT DO NOTHING');
  return result.rowCount ?? 0;
}

/**
 * The statements that move the watermarks (sent with COMMIT): the ranges of the boards that
 * had some are replaced by what the watermark did not absorb, and each board's row takes its
 * watermark and the newest revision seen.
 */
function watermarkStatements(batches: BoardBatch[], reports: CommitReport[], accepted: Map<string, StreamEntry[]>, waiting: Map<string, RevRange[]>): string[] {
  if (accepted.size === 0) return [];
  const rangeBoards: string[] = [];
  const rangeFrom: number[] = [];
  const rangeTo: number[] = [];
  const updated: CommitReport[] = [];
  const seen: number[] = [];
  for (const report of reports) {
    const revisions = accepted.get(report.board);
    if (!revisions) continue;
    const runs = toRuns(revisions.map((r) => r.rev));
    const next = advanceWatermark(report.watermark, [...(waiting.get(report.board) ?? []), ...runs]);
    report.watermark = next.watermark;
    for (const r of next.waiting) {
      rangeBoards.push(report.board);
      rangeFrom.push(r.from);
      rangeTo.push(r.to);
    }
    const head = batches.find((b) => b.board === report.board)?.head;
    updated.push(report);
    seen.push(head && !report.epochMismatch ? Math.max(head.rev, next.watermark) : next.watermark);
  }
  const statements: string[] = [];
  if (waiting.size > 0) statements.push(`DELETE FROM persist_ranges WHERE board = ANY(${textArray([...waiting.keys()])})`);
  if (rangeBoards.length > 0) {
    statements.push(
      `INSERT INTO persist_ranges (board, from_rev, to_rev) SELECT * FROM unnest(${textArray(rangeBoards)}, ${intArray(rangeFrom)}, ${intArray(rangeTo)})`,
    );
  }
  statements.push(
    `UPDATE boards AS b SET persisted_rev = v.pw, seen_rev = GREATEST(b.seen_rev, v.seen), updated_at = now()
     FROM unnest(${textArray(updated.map((r) => r.board))}, ${intArray(updated.map((r) => r.watermark))}, ${intArray(seen)}) AS v(name, pw, seen)
     WHERE b.name = v.name`,
  );
  return statements;
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
