import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Revision } from '../../server/board/revision.js';
import type { HistoryDb } from '../../server/history/db.js';
import { commitBatches, type BoardBatch } from '../../server/history/persist-commit.js';
import { IndexMemo } from '../../server/search/index-memo.js';
import { migratedHistoryDatabase, type HistoryTestDatabase, type TestDatabase } from '../helpers/pg-database.js';
import { randomBoard } from '../helpers/server.js';
import { streamEntry } from '../helpers/stream-entries.js';

/**
 * The persister's commit on a real Postgres: rows go in with COPY, every row lands once
 * whatever is replayed, values that COPY's text format must escape come back intact, and
 * the search index written in the same transaction keeps each key at its newest put.
 */

const EPOCH = 'e1';

function revision(rev: number, key: string, valueJson: string): Revision {
  const eventJson = `{"rev":${rev},"key":${JSON.stringify(key)},"type":"put","version":${rev},"value":${valueJson},"actor":"agent","ts":${1_700_000_000_000 + rev}}`;
  return { rev, epoch: EPOCH, entries: [{ key, eventJson, patchJson: '' }] };
}

function batch(board: string, revisions: Revision[], headRev: number): BoardBatch {
  return {
    board,
    entries: revisions.map(streamEntry),
    head: { rev: headRev, epoch: EPOCH, epochRev: 0, startRev: 0 },
  };
}

/** Two values of distinct texts, for the index tests. */
const amber = '{"t":"amber lantern"}';
const cobalt = '{"t":"cobalt kettle"}';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('history commit', () => {
  let database: TestDatabase;
  let db: HistoryDb;
  let history: HistoryTestDatabase;

  beforeAll(async () => {
    history = await migratedHistoryDatabase();
    ({ database, db } = history);
  });
  afterAll(() => history.close());

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

  it('indexes each key at its newest put: a text the document holds already writes nothing, out of order rounds included', async () => {
    const board = randomBoard();
    const key = 'notes/a';
    const deleted = (rev: number): Revision => ({
      rev,
      epoch: EPOCH,
      entries: [{ key, eventJson: `{"rev":${rev},"key":"${key}","type":"delete","version":0,"actor":"agent","ts":${1_700_000_000_000 + rev}}`, patchJson: '' }],
    });
    const round = (revisions: Revision[], head: number) => commitBatches(db, [batch(board, revisions, head)]);
    const doc = async () =>
      (
        await database.query<{ rev: string; version: string; tsv: string; md5: string; texts: unknown; xmin: string }>(
          'SELECT rev, version, tsv::text AS tsv, source_md5::text AS md5, texts, xmin::text AS xmin FROM search_docs WHERE board = $1 AND key = $2',
          [board, key],
        )
      )[0];
    await round([revision(1, key, amber), revision(2, key, amber)], 2);
    const first = (await doc())!;
    expect([Number(first.rev), Number(first.version), first.tsv]).toEqual([2, 2, "'a':2A 'amber':3 'lantern':4 'notes':1A 't':5"]);
    // The same value twice more, then once: the document's row is not written (xmin is the transaction that wrote it).
    await round([revision(3, key, amber), revision(4, key, amber)], 4);
    expect(await doc()).toEqual(first);
    await round([revision(5, key, amber)], 5);
    expect(await doc()).toEqual(first);
    // Another value, twice: a new text.
    await round([revision(6, key, cobalt), revision(7, key, cobalt)], 7);
    const third = (await doc())!;
    expect([Number(third.rev), third.tsv]).toEqual([7, "'a':2A 'cobalt':3 'kettle':4 'notes':1A 't':5"]);
    // 10..11 (the document's value) commit past a gap, then 8..9 (the older value) fill it: the newest stays.
    await round([revision(10, key, cobalt), revision(11, key, cobalt)], 11);
    await round([revision(8, key, amber), revision(9, key, amber)], 11);
    expect(await doc()).toEqual(third);
    // Deleted, then put back with the value it had: indexed anew.
    await round([deleted(12)], 12);
    expect(await doc()).toBeUndefined();
    await round([revision(13, key, cobalt), revision(14, key, cobalt)], 14);
    const back = (await doc())!;
    expect([Number(back.rev), back.tsv]).toEqual([14, third.tsv]);
    // The same value on both sides of a gap: nothing is written.
    await round([revision(17, key, cobalt), revision(18, key, cobalt)], 18);
    await round([revision(15, key, cobalt), revision(16, key, cobalt)], 18);
    expect(await doc()).toEqual(back);
    // A delete that fills a gap behind puts of the document's value (which left the document at
    // an older revision): the key is live at its newest put, so its document stays.
    await round([revision(20, key, cobalt), revision(21, key, cobalt)], 21);
    await round([deleted(19)], 21);
    expect(await doc()).toEqual(back);
    expect(await watermarkOf(board)).toBe(21);
  });

  it("trusts a persister's memo of the index only while every round of the board since was its own", async () => {
    const board = randomBoard();
    const key = 'notes/b';
    // Two nodes' persisters, each with its memo, taking turns on one board.
    const [a, b] = [new IndexMemo(), new IndexMemo()];
    const round = (memo: IndexMemo, revisions: Revision[], head: number) => commitBatches(db, [batch(board, revisions, head)], new Set(), memo);
    const text = async () => (await database.query<{ texts: unknown }>('SELECT texts FROM search_docs WHERE board = $1 AND key = $2', [board, key]))[0]?.texts;
    await round(a, [revision(1, key, amber), revision(2, key, amber)], 2);
    expect(a.size).toBe(1);
    await round(b, [revision(3, key, cobalt)], 3);
    expect(await text()).toEqual([['/t', 'cobalt kettle']]);
    // A's memo says amber, but B moved the watermark since: A asks Postgres, and the document takes amber again.
    await round(a, [revision(4, key, amber)], 4);
    expect(await text()).toEqual([['/t', 'amber lantern']]);
    // A's next round is the board's next: its memo answers, and nothing reaches the index. (The
    // document is removed behind its back here to show that: the memo does not look.)
    await database.query('DELETE FROM search_docs WHERE board = $1 AND key = $2', [board, key]);
    await round(a, [revision(5, key, amber)], 5);
    expect(await text()).toBeUndefined();
    // B's memo is stale (A's rounds came between): it asks, and the document is written.
    await round(b, [revision(6, key, amber)], 6);
    expect(await text()).toEqual([['/t', 'amber lantern']]);
    // A round past a gap forgets the board; the round that fills the gap has ranges to close, so it does not learn it either.
    await round(b, [revision(9, key, cobalt)], 9);
    expect(b.size).toBe(0);
    await round(b, [revision(7, key, cobalt), revision(8, key, cobalt)], 9);
    expect(b.size).toBe(0);
    expect(await text()).toEqual([['/t', 'cobalt kettle']]);
    await round(b, [revision(10, key, cobalt)], 10);
    expect(b.size).toBe(1);
    expect(await watermarkOf(board)).toBe(10);
  });
});
