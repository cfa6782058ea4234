import { and, desc, eq, gt, gte, lte, sql, type AnyColumn, type Placeholder, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { HistoryDb } from './db.js';
import type { EventRecord } from '../board/event-codec.js';
import { boards, events, snapshotKeys, snapshots } from './schema/index.js';

interface BoardInfo {
  name: string;
  epoch: string;
  epochRev: number;
  persistedRev: number;
  seenRev: number;
  firstRev: number;
  snapshotRev: number;
}

export interface KeyState {
  key: string;
  version: number;
  createRev: number;
  modRev: number;
  value: string;
}

const boardColumns = {
  name: boards.name,
  epoch: boards.epoch,
  epochRev: boards.epochRev,
  persistedRev: boards.persistedRev,
  seenRev: boards.seenRev,
  firstRev: boards.firstRev,
  snapshotRev: boards.snapshotRev,
};

const eventColumns = {
  rev: events.rev,
  key: events.key,
  pos: events.pos,
  type: events.type,
  version: events.version,
  value: events.value,
  patch: events.patch,
  actor: events.actor,
  ts: events.ts,
  raw: events.raw,
};

const created = alias(events, 'c');

/**
 * The revision that created `key` as it stood at `rev`: its newest version-1 event at or
 * below `rev` (one probe of the `events_created` index; the literal 1 lets a prepared plan
 * use that partial index); null when that predates history.
 */
function createRevAt(db: HistoryDb, board: string | Placeholder, key: string | Placeholder | AnyColumn, rev: AnyColumn) {
  const probe = db
    .select({ rev: created.rev })
    .from(created)
    .where(and(eq(created.board, board), eq(created.key, key), sql`${created.version} = 1`, lte(created.rev, rev)))
    .orderBy(desc(created.rev))
    .limit(1);
  return sql<number | null>`(${probe})`.mapWith(Number);
}

/** A key's latest event as a key record (a put's value; `createRev` 0 when its creation predates history). */
function toKeyState(r: { key: string; version: number; modRev: number; createRev: number | null; value: string | null }): KeyState {
  return { key: r.key, version: r.version, createRev: r.createRev ?? 0, modRev: r.modRev, value: r.value ?? 'null' };
}

/** The rows of the raw statements below, as `pg` returns them (int8 arrives as text). */
export type KeyRecordRow = { key: string; version: string; mod_rev: string; value: string | null; create_rev: string | null };

/**
 * Live keys with a prefix as of `atRev`, in byte order, after `start` (null: from the first),
 * at most `limit`. A recursive walk visits each distinct key once through the (board, key,
 * rev) index and probes its latest event at `atRev`, so the cost follows the keys listed, not
 * the length of their history, whatever the planner's statistics say. It is beyond the query
 * builder: the statement stays SQL, its rows typed (keyStateOfRow). It is not prepared: only
 * a plan made for the actual `start` folds it into the index condition.
 */
export function liveKeysStatement(board: string, prefix: string, start: string | null, atRev: number, limit: number): SQL {
  return sql`
      WITH RECURSIVE walk(key) AS (
        (SELECT key FROM events WHERE board = ${board} AND key >= ${prefix}
           AND (${start}::text IS NULL OR key > ${start}::text COLLATE "C") ORDER BY key LIMIT 1)
        UNION ALL
        SELECT (SELECT e.key FROM events e WHERE e.board = ${board} AND e.key > walk.key ORDER BY e.key LIMIT 1)
        FROM walk WHERE walk.key IS NOT NULL AND left(walk.key, ${prefix.length}) = ${prefix}
      )
      SELECT walk.key, l.version, l.rev AS mod_rev, l.value,
        (SELECT c.rev FROM events c WHERE c.board = ${board} AND c.key = walk.key AND c.version = 1 AND c.rev <= l.rev
         ORDER BY c.rev DESC LIMIT 1) AS create_rev
      FROM walk CROSS JOIN LATERAL (
        SELECT e.type, e.version, e.rev, e.value FROM events e
        WHERE e.board = ${board} AND e.key = walk.key AND e.rev <= ${atRev} ORDER BY e.rev DESC LIMIT 1
      ) l
      WHERE walk.key IS NOT NULL AND left(walk.key, ${prefix.length}) = ${prefix} AND l.type = 1
      LIMIT ${limit}`;
}

/** A row of liveKeysStatement as a key record. */
export function keyStateOfRow(r: KeyRecordRow): KeyState {
  return toKeyState({
    key: r.key,
    version: Number(r.version),
    modRev: Number(r.mod_rev),
    createRev: r.create_rev === null ? null : Number(r.create_rev),
    value: r.value,
  });
}

/**
 * Reads of history; every query walks an index by (board, key, rev) or (board, rev, key).
 * The hot point reads are prepared once (named statements, parsed once per connection).
 */
export class HistoryRepo {
  private readonly boardQuery;
  private readonly boardNamesQuery;
  private readonly snapshotQuery;
  private readonly revisionsQuery;
  private readonly keyEventsQuery;
  private readonly keyQuery;
  private readonly snapshotPageQuery;
  private readonly snapshotPageAfterQuery;

  constructor(readonly db: HistoryDb) {
    const p = sql.placeholder;
    this.boardQuery = db
      .select(boardColumns)
      .from(boards)
      .where(eq(boards.name, p('name')))
      .prepare('history_board');
    this.boardNamesQuery = db
      .select({ name: boards.name })
      .from(boards)
      .where(gt(boards.name, p('after')))
      .orderBy(boards.name)
      .limit(p('limit'))
      .prepare('history_board_names');
    this.snapshotQuery = db
      .select({ rev: snapshots.rev, keyCount: snapshots.keyCount })
      .from(snapshots)
      .where(and(eq(snapshots.board, p('board')), lte(snapshots.rev, p('rev'))))
      .orderBy(desc(snapshots.rev))
      .limit(1)
      .prepare('history_snapshot_at');
    this.revisionsQuery = db
      .select(eventColumns)
      .from(events)
      .where(and(eq(events.board, p('board')), gte(events.rev, p('fromRev')), lte(events.rev, p('toRev'))))
      .orderBy(events.rev, events.pos)
      .limit(p('limit'))
      .prepare('history_revisions');
    this.keyEventsQuery = db
      .select(eventColumns)
      .from(events)
      .where(and(eq(events.board, p('board')), eq(events.key, p('key')), gte(events.rev, p('fromRev')), lte(events.rev, p('toRev'))))
      .orderBy(events.rev)
      .limit(p('limit'))
      .prepare('history_key_events');
    this.keyQuery = db
      .select({
        key: events.key,
        type: events.type,
        version: events.version,
        modRev: events.rev,
        value: events.value,
        createRev: createRevAt(db, p('board'), p('key'), events.rev),
      })
      .from(events)
      .where(and(eq(events.board, p('board')), eq(events.key, p('key')), lte(events.rev, p('atRev'))))
      .orderBy(desc(events.rev))
      .limit(1)
      .prepare('history_key_at');
    const snapshotPage = (after: SQL | undefined) =>
      db
        .select({
          key: snapshotKeys.key,
          version: snapshotKeys.version,
          createRev: snapshotKeys.createRev,
          modRev: snapshotKeys.modRev,
          value: snapshotKeys.value,
        })
        .from(snapshotKeys)
        .where(and(eq(snapshotKeys.board, p('board')), eq(snapshotKeys.snapRev, p('snapRev')), after))
        .orderBy(snapshotKeys.key)
        .limit(p('limit'));
    this.snapshotPageQuery = snapshotPage(undefined).prepare('history_snapshot_page');
    this.snapshotPageAfterQuery = snapshotPage(gt(snapshotKeys.key, p('after'))).prepare('history_snapshot_page_after');
  }

  async board(name: string): Promise<BoardInfo | null> {
    const [row] = await this.boardQuery.execute({ name });
    return row ?? null;
  }

  async boardNames(after: string, limit: number): Promise<string[]> {
    const rows = await this.boardNamesQuery.execute({ after, limit });
    return rows.map((r) => r.name);
  }

  /** The key as of `atRev`, or null when it did not exist then. */
  async keyAt(board: string, key: string, atRev: number): Promise<KeyState | null> {
    const [row] = await this.keyQuery.execute({ board, key, atRev });
    return row && row.type === 1 ? toKeyState(row) : null;
  }

  /** Live keys with a prefix as of `atRev`, in byte order, after `after` (see liveKeysStatement). */
  async keysAt(board: string, prefix: string, atRev: number, limit: number, after: string | undefined): Promise<KeyState[]> {
    const start = after !== undefined && after >= prefix ? after : null;
    const { rows } = await this.db.execute<KeyRecordRow>(liveKeysStatement(board, prefix, start, atRev, limit));
    return rows.map(keyStateOfRow);
  }

  /** Events with fromRev <= rev <= toRev (optionally of one key), oldest first. */
  async eventRange(board: string, key: string | undefined, fromRev: number, toRev: number, limit: number): Promise<EventRecord[]> {
    if (toRev < fromRev) return [];
    return key === undefined
      ? this.revisionsQuery.execute({ board, fromRev, toRev, limit })
      : this.keyEventsQuery.execute({ board, key, fromRev, toRev, limit });
  }

  /** The newest complete snapshot at or below `rev`. */
  async snapshotAt(board: string, rev: number): Promise<{ rev: number; keyCount: number } | null> {
    const [row] = await this.snapshotQuery.execute({ board, rev });
    return row ?? null;
  }

  /** One page of a snapshot's key records, in key order. */
  async snapshotPage(board: string, snapRev: number, after: string | null, limit: number): Promise<KeyState[]> {
    return after === null ? this.snapshotPageQuery.execute({ board, snapRev, limit }) : this.snapshotPageAfterQuery.execute({ board, snapRev, after, limit });
  }

  /**
   * The latest event of every key changed in (fromRev, toRev]: what a snapshot at
   * fromRev needs to become the state at toRev. `deleted` marks keys gone at toRev.
   */
  async changesBetween(board: string, fromRev: number, toRev: number): Promise<Array<KeyState & { deleted: boolean }>> {
    const latest = this.db
      .selectDistinctOn([events.key], { key: events.key, type: events.type, version: events.version, rev: events.rev, value: events.value })
      .from(events)
      .where(and(eq(events.board, board), gt(events.rev, fromRev), lte(events.rev, toRev)))
      .orderBy(events.key, desc(events.rev))
      .as('d');
    const rows = await this.db
      .select({
        key: latest.key,
        type: latest.type,
        version: latest.version,
        modRev: latest.rev,
        value: latest.value,
        createRev: createRevAt(this.db, board, latest.key, latest.rev),
      })
      .from(latest);
    return rows.map((r) => ({ ...toKeyState(r), deleted: r.type !== 1 }));
  }
}
