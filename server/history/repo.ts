import { sql } from 'drizzle-orm';
import type { HistoryDb } from './db.js';
import type { EventRecord } from '../board/event-codec.js';

export interface BoardInfo {
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

type Row = Record<string, unknown>;
const num = (v: unknown) => Number(v ?? 0);

function toBoard(r: Row): BoardInfo {
  return {
    name: String(r.name),
    epoch: String(r.epoch),
    epochRev: num(r.epoch_rev),
    persistedRev: num(r.persisted_rev),
    seenRev: num(r.seen_rev),
    firstRev: num(r.first_rev),
    snapshotRev: num(r.snapshot_rev),
  };
}

function toKeyState(r: Row): KeyState {
  return {
    key: String(r.key),
    version: num(r.version),
    createRev: num(r.create_rev),
    modRev: num(r.mod_rev),
    value: String(r.value ?? 'null'),
  };
}

export function toEventRecord(r: Row): EventRecord {
  return {
    rev: num(r.rev),
    key: String(r.key),
    pos: num(r.pos),
    type: num(r.type),
    version: num(r.version),
    value: r.value == null ? null : String(r.value),
    patch: r.patch == null ? null : String(r.patch),
    actor: String(r.actor),
    ts: num(r.ts),
    raw: r.raw == null ? null : String(r.raw),
  };
}

/** Reads of history; every query walks an index by (board, key, rev) or (board, rev, key). */
export class HistoryRepo {
  constructor(readonly db: HistoryDb) {}

  async board(name: string): Promise<BoardInfo | null> {
    const { rows } = await this.db.execute(sql`SELECT * FROM boards WHERE name = ${name}`);
    return rows[0] ? toBoard(rows[0]) : null;
  }

  async boardNames(after: string, limit: number): Promise<string[]> {
    const { rows } = await this.db.execute(sql`SELECT name FROM boards WHERE name > ${after} ORDER BY name LIMIT ${limit}`);
    return rows.map((r) => String(r.name));
  }

  /** The key as of `atRev`, or null when it did not exist then. */
  async keyAt(board: string, key: string, atRev: number): Promise<KeyState | null> {
    const { rows } = await this.db.execute(sql`
      SELECT e.key, e.type, e.version, e.rev AS mod_rev, e.value,
        (SELECT c.rev FROM events c WHERE c.board = ${board} AND c.key = ${key} AND c.version = 1 AND c.rev <= e.rev
         ORDER BY c.rev DESC LIMIT 1) AS create_rev
      FROM events e WHERE e.board = ${board} AND e.key = ${key} AND e.rev <= ${atRev}
      ORDER BY e.rev DESC LIMIT 1`);
    const row = rows[0];
    if (!row || num(row.type) !== 1) return null;
    return toKeyState(row);
  }

  /**
   * Keys with a prefix as of `atRev`, in byte order. A recursive walk visits each
   * distinct key once through the (board, key, rev) index and probes its latest event
   * at `atRev`, so the cost follows the keys listed, not the length of their history.
   */
  async keysAt(board: string, prefix: string, atRev: number, limit: number, after: string | undefined): Promise<KeyState[]> {
    const start = after !== undefined && after >= prefix ? after : null;
    const { rows } = await this.db.execute(sql`
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
      LIMIT ${limit}`);
    return rows.map(toKeyState);
  }

  /** Events with fromRev <= rev <= toRev (optionally of one key), oldest first. */
  async eventRange(board: string, key: string | undefined, fromRev: number, toRev: number, limit: number): Promise<EventRecord[]> {
    if (toRev < fromRev) return [];
    const { rows } =
      key === undefined
        ? await this.db.execute(sql`
            SELECT rev, key, pos, type, version, value, patch, actor, ts, raw FROM events
            WHERE board = ${board} AND rev >= ${fromRev} AND rev <= ${toRev}
            ORDER BY rev, pos LIMIT ${limit}`)
        : await this.db.execute(sql`
            SELECT rev, key, pos, type, version, value, patch, actor, ts, raw FROM events
            WHERE board = ${board} AND key = ${key} AND rev >= ${fromRev} AND rev <= ${toRev}
            ORDER BY rev LIMIT ${limit}`);
    return rows.map(toEventRecord);
  }

  /** The newest complete snapshot at or below `rev`. */
  async snapshotAt(board: string, rev: number): Promise<{ rev: number; keyCount: number } | null> {
    const { rows } = await this.db.execute(sql`
      SELECT rev, key_count FROM snapshots WHERE board = ${board} AND rev <= ${rev} ORDER BY rev DESC LIMIT 1`);
    return rows[0] ? { rev: num(rows[0].rev), keyCount: num(rows[0].key_count) } : null;
  }

  /** One page of a snapshot's key records, in key order. */
  async snapshotPage(board: string, snapRev: number, after: string | null, limit: number): Promise<KeyState[]> {
    const { rows } = await this.db.execute(sql`
      SELECT key, version, create_rev, mod_rev, value FROM snapshot_keys
      WHERE board = ${board} AND snap_rev = ${snapRev} AND (${after}::text IS NULL OR key > ${after}::text COLLATE "C")
      ORDER BY key LIMIT ${limit}`);
    return rows.map(toKeyState);
  }

  /**
   * The latest event of every key changed in (fromRev, toRev]: what a snapshot at
   * fromRev needs to become the state at toRev. `deleted` marks keys gone at toRev.
   */
  async changesBetween(board: string, fromRev: number, toRev: number): Promise<Array<KeyState & { deleted: boolean }>> {
    const { rows } = await this.db.execute(sql`
      SELECT d.key, d.type, d.version, d.rev AS mod_rev, d.value,
        (SELECT c.rev FROM events c WHERE c.board = ${board} AND c.key = d.key AND c.version = 1 AND c.rev <= d.rev
         ORDER BY c.rev DESC LIMIT 1) AS create_rev
      FROM (SELECT DISTINCT ON (key) key, type, version, rev, value FROM events
            WHERE board = ${board} AND rev > ${fromRev} AND rev <= ${toRev} ORDER BY key, rev DESC) d`);
    return rows.map((r) => ({ ...toKeyState(r), deleted: num(r.type) !== 1 }));
  }
}
