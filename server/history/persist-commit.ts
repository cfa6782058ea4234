import type pg from 'pg';
import type { Revision } from '../board/revision.js';
import { copyEvents, insertEventRows, type BoardRecord } from './copy-rows.js';
import { isConnectionError, type HistoryDb } from './db.js';
import { revisionRecords, type EventRecord } from '../board/event-codec.js';
import { applyIndexChanges, type IndexChange } from '../search/index-writer.js';
import { advanceWatermark, toRuns, type RevRange } from './watermark.js';

export interface StreamEntry {
  id: string;
  revision: Revision;
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
): Promise<{ reports: CommitReport[]; inserted: number }> {
  const client = await db.$client.connect();
  let broken: Error | undefined;
  const attempt = async (mode: RowMode) => {
    try {
      return await commitRound(client, batches, known, mode);
    } catch (err) {
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
 * Statements that need no answer of the one before go out together: node-pg sends a queued
 * statement as soon as the previous one is answered, so they cost Postgres's time but not a
 * turn of this process's event loop each (which, on a busy node, is most of a round trip).
 * A statement queued behind one that failed fails too (the transaction is aborted), and the
 * caller rolls back.
 */
async function commitRound(
  client: pg.PoolClient,
  batches: BoardBatch[],
  known: ReadonlySet<string>,
  mode: RowMode,
): Promise<{ reports: CommitReport[]; inserted: number }> {
  const names = batches.map((b) => b.board);
  // The ranges are read after the lock is held (each statement of a READ COMMITTED
  // transaction sees what committed before it started): a round of another node that held
  // the lock has committed its ranges by then.
  const [, , rows, recorded] = await Promise.all([
    client.query('BEGIN'),
    ensureBoards(
      client,
      batches.filter((b) => b.head !== null && !known.has(b.board)),
    ),
    lockBoards(client, names),
    readWaitingRanges(client, names),
  ]);
  const { reports, accepted } = acceptEntries(batches, rows);
  const waiting = new Map([...recorded].filter(([board]) => accepted.has(board)));
  // Each revision is decoded once, for its rows and for the index.
  const decoded = new Map<string, EventRecord[][]>();
  for (const [board, revisions] of accepted) decoded.set(board, revisions.map(revisionRecords));
  const inserted = accepted.size > 0 ? await writeEvents(client, newRows(accepted, decoded, waiting), mode) : 0;
  // The search index commits with the events it reflects (a round past a gap included:
  // its changes are compared by revision, so applying one twice is harmless).
  if (accepted.size > 0) await applyIndexChanges(client, indexChanges(decoded));
  await Promise.all([...watermarkStatements(client, batches, reports, accepted, waiting), client.query('COMMIT')]);
  return { reports, inserted };
}

/** The rows of the accepted revisions, but those a previous round committed past a gap (they are present). */
function* newRows(accepted: Map<string, Revision[]>, decoded: Map<string, EventRecord[][]>, waiting: Map<string, RevRange[]>): Generator<BoardRecord> {
  for (const [board, revisions] of accepted) {
    const present = waiting.get(board) ?? [];
    const records = decoded.get(board)!;
    for (const [i, revision] of revisions.entries()) {
      if (present.some((r) => revision.rev >= r.from && revision.rev <= r.to)) continue;
      for (const record of records[i]!) yield { board, record };
    }
  }
}

/**
 * The newest event of each key the round touched (the index keeps nothing older), and whether
 * the round put that same value on the key before it (see IndexChange.again).
 */
function* indexChanges(decoded: Map<string, EventRecord[][]>): Generator<IndexChange> {
  for (const [board, revisions] of decoded) {
    const newest = new Map<string, { record: EventRecord; again: boolean }>();
    for (const records of revisions) {
      for (const r of records) {
        const seen = newest.get(r.key);
        if (!seen) newest.set(r.key, { record: r, again: false });
        else if (seen.record.rev < r.rev) {
          seen.again = r.type === 1 && seen.record.type === 1 && seen.record.value === r.value;
          seen.record = r;
        }
      }
    }
    for (const { record: r, again } of newest.values()) {
      yield { board, key: r.key, rev: r.rev, version: r.version, value: r.type === 1 ? (r.value ?? 'null') : null, again };
    }
  }
}

async function ensureBoards(client: pg.PoolClient, batches: BoardBatch[]): Promise<void> {
  if (batches.length === 0) return;
  await client.query(
    `INSERT INTO boards (name, epoch, epoch_rev, persisted_rev, seen_rev, first_rev, snapshot_rev)
     SELECT v.name, v.epoch, v.epoch_rev, v.start_rev, v.start_rev, v.start_rev + 1, 0
     FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[]) AS v(name, epoch, epoch_rev, start_rev)
     ORDER BY v.name
     ON CONFLICT (name) DO NOTHING`,
    [batches.map((b) => b.board), batches.map((b) => b.head!.epoch), batches.map((b) => b.head!.epochRev), batches.map((b) => b.head!.startRev)],
  );
}

async function lockBoards(client: pg.PoolClient, names: string[]): Promise<Map<string, { epoch: string; persisted: number }>> {
  const locked = await client.query<{ name: string; epoch: string; persisted_rev: string }>(
    'SELECT name, epoch, persisted_rev FROM boards WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE',
    [names],
  );
  return new Map(locked.rows.map((r) => [r.name, { epoch: r.epoch, persisted: Number(r.persisted_rev) }]));
}

/** Which entries count (their epoch is the board's, their revision above its watermark) and which may be acknowledged. */
function acceptEntries(
  batches: BoardBatch[],
  rows: Map<string, { epoch: string; persisted: number }>,
): { reports: CommitReport[]; accepted: Map<string, Revision[]> } {
  const reports: CommitReport[] = [];
  const accepted = new Map<string, Revision[]>();
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
    const revisions: Revision[] = [];
    for (const { id, revision } of batch.entries) {
      if (revision.epoch !== row.epoch) {
        // Entries of the epoch Redis is living in stay pending until the two agree;
        // entries of an older epoch were superseded by a rebuild and are dropped.
        if (batch.head === null || revision.epoch !== batch.head.epoch) report.ackIds.push(id);
        continue;
      }
      report.ackIds.push(id);
      if (revision.rev > row.persisted) revisions.push(revision);
    }
    if (revisions.length > 0) accepted.set(batch.board, revisions);
    reports.push(report);
  }
  return { reports, accepted };
}

/** The runs committed past a gap earlier, by board: their rows are present. */
async function readWaitingRanges(client: pg.PoolClient, boards: string[]): Promise<Map<string, RevRange[]>> {
  const byBoard = new Map<string, RevRange[]>();
  const recorded = await client.query<{ board: string; from_rev: string; to_rev: string }>(
    'SELECT board, from_rev, to_rev FROM persist_ranges WHERE board = ANY($1::text[])',
    [boards],
  );
  for (const r of recorded.rows) {
    const list = byBoard.get(r.board) ?? [];
    list.push({ from: Number(r.from_rev), to: Number(r.to_rev) });
    byBoard.set(r.board, list);
  }
  return byBoard;
}

/** Rounds of at most this many rows go in with one INSERT (one round trip) rather than COPY (two). */
const SMALL_ROUND_ROWS = 64;

async function writeEvents(client: pg.PoolClient, rows: Iterable<BoardRecord>, mode: RowMode): Promise<number> {
  const iterator = rows[Symbol.iterator]();
  const first: BoardRecord[] = [];
  for (let next = iterator.next(); !next.done; next = iterator.next()) {
    first.push(next.value);
    if (first.length > SMALL_ROUND_ROWS) break;
  }
  if (first.length <= SMALL_ROUND_ROWS) return insertEventRows(client, first);
  rows = (function* () {
    yield* first;
    for (let next = iterator.next(); !next.done; next = iterator.next()) yield next.value;
  })();
  if (mode === 'copy') return copyEvents(client, 'events', rows);
  await client.query('CREATE TEMP TABLE IF NOT EXISTS events_incoming (LIKE events) ON COMMIT DELETE ROWS');
  await copyEvents(client, 'events_incoming', rows);
  const result = await client.query('INSERT INTO events SELECT * FROM events_incoming ON CONFLICT DO NOTHING');
  return result.rowCount ?? 0;
}

/**
 * The statements that move the watermarks (they go out together, before COMMIT): the ranges
 * of the boards that had some are replaced by what the watermark did not absorb, and each
 * board's row takes its watermark and the newest revision seen.
 */
function watermarkStatements(
  client: pg.PoolClient,
  batches: BoardBatch[],
  reports: CommitReport[],
  accepted: Map<string, Revision[]>,
  waiting: Map<string, RevRange[]>,
): Array<Promise<unknown>> {
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
  const statements: Array<Promise<unknown>> = [];
  if (waiting.size > 0) statements.push(client.query('DELETE FROM persist_ranges WHERE board = ANY($1::text[])', [[...waiting.keys()]]));
  if (rangeBoards.length > 0) {
    statements.push(
      client.query('INSERT INTO persist_ranges (board, from_rev, to_rev) SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[])', [
        rangeBoards,
        rangeFrom,
        rangeTo,
      ]),
    );
  }
  statements.push(
    client.query(
      `UPDATE boards AS b SET persisted_rev = v.pw, seen_rev = GREATEST(b.seen_rev, v.seen), updated_at = now()
       FROM unnest($1::text[], $2::int8[], $3::int8[]) AS v(name, pw, seen)
       WHERE b.name = v.name`,
      [updated.map((r) => r.board), updated.map((r) => r.watermark), seen],
    ),
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
