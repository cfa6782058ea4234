import type pg from 'pg';
import { extractText, fuzzyWords, keyWords } from './extract.js';

/**
 * The search index: one row per live key of a board in `search_docs` (its value's strings
 * with their paths, and a tsvector in the board's language), and the words of those
 * values in `search_words` (with a trigram index, for misspelt queries). It is written in
 * the transaction that writes the events, so it is exactly as fresh as the watermark.
 *
 * A document's `rev` and `version` are those of the put its text was taken from. A later put
 * whose text is the same (the same value again, or a value whose numbers, booleans or nulls
 * alone moved: a status rewritten, a counter, a step) leaves the document as it is: nothing
 * is written for it, so a key rewritten many times costs index look-ups, not row versions.
 * A search reads each hit's current revision and version from the events table.
 */

/** The newest event of one key seen in a round: a put (with its value) or a delete. */
export interface IndexChange {
  board: string;
  key: string;
  rev: number;
  version: number;
  /** The value's JSON text; null for a delete. */
  value: string | null;
  /**
   * The same value was put on the key just before (in the same round): a key rewritten with
   * one value, whose document likely holds it already, so its put first tries the cheap
   * check (notHeldAlready). Other puts skip that try, which would mostly miss.
   */
  again?: boolean;
}

/** `$` keys (locks, presence, task mirrors) churn and are the server's own: they are not indexed. */
export function isIndexedKey(key: string): boolean {
  return !key.startsWith('$');
}

/**
 * Applies the newest change of each key to the index. Rounds of one board may commit out
 * of revision order (a round past a gap before the round that fills it), so every
 * statement compares revisions: a document is replaced only by a newer put, removed only
 * by a newer delete, and not written at all when the events table already holds a newer
 * event of its key.
 */
export async function applyIndexChanges(client: pg.PoolClient, changes: Iterable<IndexChange>): Promise<void> {
  const latest = new Map<string, IndexChange>();
  for (const c of changes) {
    if (!isIndexedKey(c.key)) continue;
    const id = `${c.board}\n${c.key}`;
    const seen = latest.get(id);
    if (!seen || seen.rev < c.rev) latest.set(id, c);
  }
  if (latest.size === 0) return;
  let puts = [...latest.values()].filter((c) => c.value !== null);
  const deletes = [...latest.values()].filter((c) => c.value === null);
  const likely = puts.filter((c) => c.again === true);
  if (likely.length > 0) {
    const missed = new Set(await notHeldAlready(client, likely));
    puts = puts.filter((c) => c.again !== true || missed.has(c));
  }
  if (puts.length > 0) await upsertDocuments(client, puts);
  if (deletes.length > 0) {
    await client.query(
      // A document older than the delete goes, unless a newer event of its key is committed
      // (a document keeps the revision its text came from, which may be older than the key's newest put).
      `DELETE FROM search_docs d USING unnest($1::text[], $2::text[], $3::int8[]) AS v(board, key, rev)
       WHERE d.board = v.board AND d.key = v.key AND d.rev < v.rev
         AND NOT EXISTS (SELECT 1 FROM events e WHERE e.board = v.board AND e.key = v.key AND e.rev > v.rev)`,
      [deletes.map((c) => c.board), deletes.map((c) => c.key), deletes.map((c) => c.rev)],
    );
  }
}

/**
 * The puts whose document was made from this very value (the JSON text of the event at the
 * document's revision) need nothing: returns the others, for the full upsert. A key put again
 * and again with the same value (a status written once more, a burst of rewrites that one
 * round folds into its newest) then costs two index look-ups, where extracting its text costs
 * several times that. Only puts marked `again` try it: for the others it would mostly miss.
 *
 * `o.rev < v.rev` is guard enough: a document newer than the put means a newer put of the
 * key is committed (the upsert leaves this put out then too).
 */
async function notHeldAlready(client: pg.PoolClient, puts: IndexChange[]): Promise<IndexChange[]> {
  // Each put looks up its document and the event at the document's revision by index.
  const { rows } = await client.query<{ held: number[] | null }>(
    `SELECT array_agg(v.i::int4) AS held
     FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[]) WITH ORDINALITY AS v(board, key, rev, value, i)
     WHERE EXISTS (
       SELECT 1 FROM search_docs o
       WHERE o.board = v.board AND o.key = v.key AND o.rev < v.rev
         AND v.value = (SELECT e.value FROM events e WHERE e.board = o.board AND e.rev = o.rev AND e.key = o.key)
     )`,
    [puts.map((c) => c.board), puts.map((c) => c.key), puts.map((c) => c.rev), puts.map((c) => c.value)],
  );
  const held = new Set(rows[0]?.held ?? []);
  return held.size === 0 ? puts : puts.filter((_, i) => !held.has(i + 1));
}

async function upsertDocuments(client: pg.PoolClient, puts: IndexChange[]): Promise<void> {
  const boards: string[] = [];
  const keys: string[] = [];
  const revs: number[] = [];
  const versions: number[] = [];
  const keyTexts: string[] = [];
  const bodies: string[] = [];
  const textsJson: string[] = [];
  for (const c of puts) {
    const { texts, names } = extractText(c.value!);
    const body = texts.map(([, text]) => text);
    if (names !== '') body.push(names);
    boards.push(c.board);
    keys.push(c.key);
    revs.push(c.rev);
    versions.push(c.version);
    keyTexts.push(keyWords(c.key));
    bodies.push(body.join('\n'));
    textsJson.push(JSON.stringify(texts));
  }
  // In key order, so that two transactions touching the same rows lock them in one order.
  // A document whose text and strings are the put's is left as it is (see the module
  // comment); one whose text is the one its tsvector was made from keeps that tsvector.
  // Returns the puts written with a text their document did not have: only those bring words.
  const { rows } = await client.query<{ texts_new: number[] | null }>(
    `WITH fresh AS (
       SELECT v.*, o.tsv AS old_tsv, o.source_md5 AS old_source, o.texts AS old_texts, c.cfg
       FROM (SELECT u.*, md5(u.key_words || E'\\n' || u.body)::uuid AS source
             FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::text[], $6::text[], $7::jsonb[]) WITH ORDINALITY
                    AS u(board, key, rev, version, key_words, body, texts, i)) v
       LEFT JOIN LATERAL (
         SELECT o.tsv, o.source_md5, o.texts FROM search_docs o WHERE o.board = v.board AND o.key = v.key LIMIT 1
       ) o ON true
       LEFT JOIN LATERAL (
         SELECT 1 AS found FROM events e WHERE e.board = v.board AND e.key = v.key AND e.rev > v.rev LIMIT 1
       ) newer ON true
       CROSS JOIN LATERAL (
         SELECT COALESCE((SELECT s.language FROM search_boards s WHERE s.board = v.board), 'simple'::regconfig) AS cfg
       ) c
       WHERE newer.found IS NULL
     ), written AS (
       INSERT INTO search_docs AS d (board, key, rev, version, texts, tsv, source_md5)
       SELECT f.board, f.key, f.rev, f.version, f.texts,
              CASE WHEN f.old_source = f.source THEN f.old_tsv
                   ELSE setweight(to_tsvector(f.cfg, f.key_words), 'A') || to_tsvector(f.cfg, f.body) END,
              f.source
       FROM fresh f
       WHERE f.old_source IS DISTINCT FROM f.source OR f.old_texts IS DISTINCT FROM f.texts
       ORDER BY f.board, f.key
       ON CONFLICT (board, key) DO UPDATE
         SET rev = excluded.rev, version = excluded.version, texts = excluded.texts, tsv = excluded.tsv,
             source_md5 = excluded.source_md5
         WHERE d.rev < excluded.rev
       RETURNING d.board, d.key
     )
     SELECT array_agg(f.i::int4 ORDER BY f.i) AS texts_new FROM fresh f JOIN written w ON w.board = f.board AND w.key = f.key
     WHERE f.old_source IS DISTINCT FROM f.source`,
    [boards, keys, revs, versions, keyTexts, bodies, textsJson],
  );
  // Words come with a text new to its document: a text it kept brought its words when the
  // document took it (words are never removed but by a rebuild, which indexes every document anew).
  const wordsByBoard = new Map<string, Set<string>>();
  for (const i of rows[0]?.texts_new ?? []) {
    const at = i - 1;
    let words = wordsByBoard.get(boards[at]!);
    if (!words) wordsByBoard.set(boards[at]!, (words = new Set()));
    fuzzyWords(keyTexts[at]!, words);
    fuzzyWords(bodies[at]!, words);
  }
  const wordBoards: string[] = [];
  const words: string[] = [];
  for (const [board, set] of wordsByBoard) {
    for (const word of set) {
      wordBoards.push(board);
      words.push(word);
    }
  }
  if (words.length > 0) {
    await client.query(
      `INSERT INTO search_words (board, word)
       SELECT v.board, v.word FROM unnest($1::text[], $2::text[]) AS v(board, word) ORDER BY 1, 2
       ON CONFLICT DO NOTHING`,
      [wordBoards, words],
    );
  }
}
