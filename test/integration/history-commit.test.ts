import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { Revision } from '../../server/board/revision.js';
import { createDb, createPool, ensureDatabase, migrateDb, type HistoryDb } from '../../server/history/db.js';
import { commitBatches, type BoardBatch } from '../../server/history/persist-commit.js';
import { testDatabase, type TestDatabase } from '../helpers/pg-database.js';
import { randomBoard } from '../helpers/server.js';

/**
 * The persister's commit on a real Postgres: rows go in with COPY, every row lands once
 * whatever is replayed, and values that COPY's text format must escape come back intact.
 */

const EPOCH = 'e1';

function revision(rev: number, key: string, valueJson: string): Revision {
  const eventJson = `{"rev":${rev},"key":${JSON.stringify(key)},"type":"put","version":${rev},"value":${valueJson},"actor":"agent","ts":${1_700_000_000_000 + rev}}`;
  return { rev, epoch: EPOCH, entries: [{ key, eventJson, patchJson: '' }] };
}

function batch(board: string, revisions: Revision[], headRev: number): BoardBatch {
  return {
    board,
    entries: revisions.map((r) => ({ id: `${r.rev}-0`, revision: r })),
    head: { rev: headRev, epoch: EPOCH, epochRev: 0, startRev: 0 },
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('history commit', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let db: HistoryDb;

  beforeAll(async () => {
    database = testDatabase();
    await ensureDatabase(database.url, 5_000);
    pool = createPool({ url: database.url, poolMax: 2, queryTimeoutMs: 30_000 });
    db = createDb(pool);
    await migrateDb(pool, db);
  });
  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  const rowsOf = (board: string) => database.query<{ rev: string; value: string }>('SELECT rev, value FROM events WHERE board = $1 ORDER BY rev', [board]);
  const watermarkOf = async (board: string) =>
    Number((await database.query<{ persisted_rev: string }>('SELECT persisted_rev FROM boards WHERE name = $1', [board]))[0]?.persisted_rev);

  it('keeps values byte for byte, escapes included, in a COPY and in a small round, and moves the watermark over a gap once it closes', async () => {
    const board = randomBoard();
    const odd = JSON.stringify({ text: 'tab\there\\ back\nline\r \u2603', list: [] });
    const revisions = range(1, 201).map((rev) => revision(rev, `k/${rev}`, rev === 3 || rev === 201 ? odd : `{"n":${rev}}`));
    // 101..200 first: they wait past the gap at 1..100.
    const late = await commitBatches(db, [batch(board, revisions.slice(100, 200), 200)]);
    expect(late.inserted).toBe(100);
    expect(late.reports[0]!.watermark).toBe(0);
    const early = await commitBatches(db, [batch(board, revisions.slice(0, 100), 200)]);
    expect(early.inserted).toBe(100);
    expect(early.reports[0]!.watermark).toBe(200);
    // One more revision: a round of one row.
    const single = await commitBatches(db, [batch(board, revisions.slice(200), 201)]);
    expect(single.inserted).toBe(1);
    expect(single.reports[0]!.watermark).toBe(201);
    const rows = await rowsOf(board);
    expect(rows.map((r) => Number(r.rev))).toEqual(range(1, 201));
    expect(rows[2]!.value).toBe(odd);
    expect(rows[200]!.value).toBe(odd);
  });

  it('writes each row once when entries are replayed, below the watermark or past a gap', async () => {
    const board = randomBoard();
    const revisions = range(1, 200).map((rev) => revision(rev, 'k', `{"n":${rev}}`));
    await commitBatches(db, [batch(board, revisions.slice(0, 40), 200)]);
    await commitBatches(db, [batch(board, revisions.slice(120), 200)]);
    // A reader that died before acknowledging: everything comes again, with the missing middle.
    const again = await commitBatches(db, [batch(board, revisions, 200)]);
    expect(again.inserted).toBe(80);
    expect(again.reports[0]!.watermark).toBe(200);
    expect(again.reports[0]!.ackIds).toHaveLength(200);
    expect((await rowsOf(board)).map((r) => Number(r.rev))).toEqual(range(1, 200));
  });

  it('skips rows already present that no watermark or range records, instead of failing the round', async () => {
    const board = randomBoard();
    const other = randomBoard();
    const revisions = range(1, 100).map((rev) => revision(rev, 'k', `{"n":${rev}}`));
    await commitBatches(db, [batch(board, revisions.slice(0, 80), 100)]);
    // Rows 1..80 stay while the board forgets it has them: the next round's COPY meets them.
    await database.query('UPDATE boards SET persisted_rev = 0 WHERE name = $1', [board]);
    const result = await commitBatches(db, [batch(board, revisions, 100), batch(other, [revision(1, 'x', '1')], 1)]);
    expect(result.inserted).toBe(21);
    expect(result.reports.find((r) => r.board === board)!.watermark).toBe(100);
    expect((await rowsOf(board)).map((r) => Number(r.rev))).toEqual(range(1, 100));
    expect(await rowsOf(other)).toHaveLength(1);
    expect(await watermarkOf(other)).toBe(1);
  });
});
