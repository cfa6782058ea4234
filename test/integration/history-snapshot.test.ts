import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { pino } from 'pino';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Revision } from '../../server/board/revision.js';
import type { HistoryDb } from '../../server/history/db.js';
import { commitBatches } from '../../server/history/persist-commit.js';
import { HistoryRepo, liveKeysStatement, type KeyRecordRow } from '../../server/history/repo.js';
import { snapshotBuild, Snapshotter } from '../../server/history/snapshotter.js';
import { migratedHistoryDatabase, type HistoryTestDatabase, type TestDatabase } from '../helpers/pg-database.js';
import { randomBoard } from '../helpers/server.js';
import { streamEntry } from '../helpers/stream-entries.js';

/**
 * Snapshots on a real Postgres: one built from the previous snapshot and the events since
 * holds every live key as a replay of the events gives it (versions, creation revisions
 * across a delete and a re-creation, values), and the work of building one is bounded by
 * the rows it reads, whatever join the planner would choose. The same bound for a page of
 * live keys (history's list, the search index rebuild) on keys with long histories.
 */

const EPOCH = 'e1';

interface KeyState {
  version: number;
  createRev: number;
  modRev: number;
  value: string;
}

/** Writes one key per revision, from revision `firstRev` on, and keeps the state a replay gives. */
class Board {
  readonly revisions: Revision[] = [];
  readonly state = new Map<string, KeyState>();

  constructor(private readonly firstRev = 1) {}

  get rev(): number {
    return this.firstRev - 1 + this.revisions.length;
  }

  put(key: string, value: string): void {
    const rev = this.rev + 1;
    const before = this.state.get(key);
    const version = (before?.version ?? 0) + 1;
    this.state.set(key, { version, createRev: before?.createRev ?? rev, modRev: rev, value });
    this.add(rev, key, `"type":"put","version":${version},"value":${value}`);
  }

  delete(key: string): void {
    this.state.delete(key);
    this.add(this.rev + 1, key, '"type":"delete","version":0');
  }

  private add(rev: number, key: string, change: string): void {
    const eventJson = `{"rev":${rev},"key":${JSON.stringify(key)},${change},"actor":"agent","ts":${1_700_000_000_000 + rev}}`;
    this.revisions.push({ rev, epoch: EPOCH, entries: [{ key, eventJson, patchJson: '' }] });
  }
}

interface PlanNode {
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Join Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Every row each plan node produced or threw away, over all its loops. */
function rowsTouched(node: PlanNode): number {
  const loops = node['Actual Loops'] ?? 1;
  const own =
    ((node['Actual Rows'] ?? 0) +
      (node['Rows Removed by Filter'] ?? 0) +
      (node['Rows Removed by Join Filter'] ?? 0) +
      (node['Rows Removed by Index Recheck'] ?? 0)) *
    loops;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsTouched(child), 0);
}

/** Runs EXPLAIN ANALYZE of a statement in a transaction rolled back; returns the rows its plan touched. */
async function touchedBy(pool: pg.Pool, statement: SQL, settings: string[] = []): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    for (const setting of settings) await client.query(`SET LOCAL ${setting}`);
    const { sql, params } = new PgDialect().sqlToQuery(statement);
    const explained = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
    return rowsTouched(explained.rows[0]!['QUERY PLAN'][0]!.Plan);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

describe('history snapshots', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let db: HistoryDb;
  let snapshotter: Snapshotter;
  let history: HistoryTestDatabase;

  beforeAll(async () => {
    history = await migratedHistoryDatabase(60_000);
    ({ database, pool, db } = history);
    snapshotter = new Snapshotter(db, new HistoryRepo(db), pino({ level: 'silent' }), 1_000);
  });
  afterAll(() => history.close());

  async function commit(boardName: string, revisions: Revision[]): Promise<void> {
    const entries = revisions.map(streamEntry);
    await commitBatches(db, [{ board: boardName, entries, head: { rev: revisions.at(-1)!.rev, epoch: EPOCH, epochRev: 0, startRev: 0 } }]);
  }

  async function snapshotKeys(snapRev: number): Promise<Map<string, KeyState>> {
    const rows = await database.query<{ key: string; version: string; create_rev: string; mod_rev: string; value: string }>(
      'SELECT key, version, create_rev, mod_rev, value FROM snapshot_keys WHERE board = $1 AND snap_rev = $2',
      [name, snapRev],
    );
    return new Map(rows.map((r) => [r.key, { version: Number(r.version), createRev: Number(r.create_rev), modRev: Number(r.mod_rev), value: r.value }]));
  }

  const name = randomBoard('snap');
  const KEYS = 2_000;

  it('a snapshot built on the previous one and the events since holds the replayed state of every live key', async () => {
    const board = new Board();
    for (let i = 0; i < KEYS; i++) board.put(`k/${i}`, `{"n":${i}}`);
    await commit(name, board.revisions);
    const first = board.rev;
    await snapshotter.snapshot(name, first, true);
    expect(await snapshotKeys(first)).toEqual(board.state);

    // Since then: a third of the keys rewritten (some twice), every tenth deleted, every
    // thirtieth deleted and created again, and new keys.
    for (let i = 0; i < KEYS; i += 3) board.put(`k/${i}`, `{"n":${i},"again":true}`);
    for (let i = 0; i < KEYS; i += 9) board.put(`k/${i}`, `{"n":${i},"thrice":[1,2]}`);
    for (let i = 0; i < KEYS; i += 10) board.delete(`k/${i}`);
    for (let i = 0; i < KEYS; i += 30) board.put(`k/${i}`, `"back"`);
    for (let i = 0; i < 500; i++) board.put(`new/${i}`, `${i}`);
    await commit(name, board.revisions.slice(first));
    await snapshotter.snapshot(name, board.rev, true);
    const second = await snapshotKeys(board.rev);
    expect(second.size).toBe(board.state.size);
    expect(second).toEqual(board.state);
    // A re-created key counts from its re-creation.
    expect(second.get('k/30')).toMatchObject({ version: 1, modRev: second.get('k/30')!.createRev });
    expect(second.get('k/30')!.createRev).toBeGreaterThan(first);
  });

  it('reads each row it needs a bounded number of times, even when the planner is kept from hashing and merging', async () => {
    // Continues the board of the test before: a base snapshot of ~2,300 keys and 1,500 new events.
    const snaps = await database.query<{ rev: string }>('SELECT rev FROM snapshots WHERE board = $1 ORDER BY rev DESC LIMIT 1', [name]);
    const base = Number(snaps[0]!.rev);
    const baseKeys = (await snapshotKeys(base)).size;
    const events = 1_500;
    const since = new Board(base + 1);
    for (let i = 0; i < events; i++) since.put(`k/${(i * 7) % KEYS}`, `${i}`);
    await commit(name, since.revisions);

    // A nested loop is what a planner with stale statistics picked for a join here.
    const touched = await touchedBy(pool, snapshotBuild(name, base, base + events), ['enable_hashjoin = off', 'enable_mergejoin = off']);
    // Base records and range events are each read a few times (scan, sort, unique, insert), plus one probe per changed key.
    expect(touched).toBeGreaterThan(baseKeys);
    expect(touched).toBeLessThan(10 * (baseKeys + events));
  });

  it('a page of live keys reads about its own keys, not the history of the keys after them', async () => {
    const board = new Board();
    for (let round = 0; round < 30; round++) for (let i = 0; i < 200; i++) board.put(`long/${String(i).padStart(3, '0')}`, `${round}`);
    const keysBoard = randomBoard('walk');
    await commit(keysBoard, board.revisions);
    const page = 50;
    const touched = await touchedBy(pool, liveKeysStatement(keysBoard, '', 'long/049', board.rev, page));
    // Each key: a step of the walk, its latest event and its creation, each counted by a few
    // plan nodes: ~600 rows. A DISTINCT ON over the events after the cursor read 10,571.
    expect(touched).toBeLessThan(20 * page);
    const { rows } = await db.execute<KeyRecordRow>(liveKeysStatement(keysBoard, '', 'long/049', board.rev, page));
    expect(rows.map((r) => r.key)).toEqual(Array.from({ length: page }, (_, i) => `long/${String(50 + i).padStart(3, '0')}`));
    expect(rows[0]).toMatchObject({ value: '29', version: String(30) });
  });
});
