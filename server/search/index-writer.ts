import type pg from 'pg';
import { extractText, fuzzyWords, keyWords } from './extract.js';

/**
 * The search index: one row per live key of a board in `search_docs` (its value's strings
 * with their paths, and a tsvector in the board's language), and the words of those
 * values in `search_words` (with a trigram index, for misspelt queries). It is written in
 * the transaction that writes the events, so it is exactly as fresh as the watermark.
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
   * refresh (refreshUnchanged). Other puts skip that try, which would mostly miss.
   */
  again?: boolean;
}

/** `$` keys (locks, presence, task mirrors) churn and are the server's own: they are not indexed. */
function isIndexedKey(key: string): boolean {
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
    const missed = new Set(await refreshUnchanged(client, likely));
    puts = puts.filter((c) => c.again !== true || missed.has(c));
  }
  if (puts.length > 0) await upsertDocuments(client, puts);
  if (deletes.length > 0) {
    await client.query(
      `DELETE FROM search_docs d USING unnest($1::text[], $2::text[], $3::int8[]) AS v(board, key, rev)
       WHERE d.board = v.board AND d.key = v.key AND d.rev < v.rev`,
      [deletes.map((c) => c.board), deletes.map((c) => c.key), deletes.map((c) => c.rev)],
    );
  }
}

/**
 * A put of the very value its document was made from (the JSON text of the event at the
 * document's revision) changes nothing the index derives from the value: the document
 * takes the new revision and version, and no text is extracted, no tsvector computed, no
 * words offered (they went in with the document). One statement for all of them; returns
 * the puts it did not cover, for the full upsert. A key put again and again with the same
 * value (a status written once more, a burst of rewrites that one round folds into its
 * newest) then costs two index look-ups, where extracting and upserting it costs several
 * times that. Only puts marked `again` try it: for the others it would mostly miss.
 *
 * `d.rev < v.rev` is guard enough: each committed round left every key's document at the
 * newest put committed for it (or removed it at a newer delete), so a document older than
 * the put means no newer event of the key is committed. The rows are updated in no set
 * order: whoever writes a board's documents (a persister round, a rebuild) holds the board's
 * row, so no two transactions update the same documents at once.
 */
async function refreshUnchanged(client: pg.PoolClient, puts: IndexChange[]): Promise<IndexChange[]> {
  // Each put looks up its document and the event at the document's revision by index (the
  // LIMIT keeps the look-ups per put: as a join, the planner may sort or hash whole tables).
  const { rows } = await client.query<{ refreshed: number[] | null }>(
    `WITH refreshed AS (
       UPDATE search_docs AS d SET rev = h.rev, version = h.version
       FROM (SELECT v.i, v.rev, v.version, o.at
             FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::text[]) WITH ORDINALITY AS v(board, key, rev, version, value, i)
             CROSS JOIN LATERAL (
               SELECT o.ctid AS at FROM search_docs o
               WHERE o.board = v.board AND o.key = v.key AND o.rev < v.rev
                 AND v.value = (SELECT e.value FROM events e WHERE e.board = o.board AND e.rev = o.rev AND e.key = o.key)
               LIMIT 1
             ) o) h
       WHERE d.ctid = h.at
       RETURNING h.i
     )
     SELECT array_agg(i::int4) AS refreshed FROM refreshed`,
    [puts.map((c) => c.board), puts.map((c) => c.key), puts.map((c) => c.rev), puts.map((c) => c.version), puts.map((c) => c.value)],
  );
  const refreshed = new Set(rows[0]?.refreshed ?? []);
  return refreshed.size === 0 ? puts : puts.filter((_, i) => !refreshed.has(i + 1));
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
  // A document whose text is the one its tsvector was made from keeps that tsvector. Returns
  // the puts written with a text their document did not have: only those bring words.
  const { rows } = await client.query<{ texts_new: number[] | null }>(
    `WITH fresh AS (
       SELECT v.*, o.tsv AS old_tsv, o.source_md5 AS old_source, c.cfg
       FROM (SELECT u.*, md5(u.key_words || E'\\n' || u.body)::uuid AS source
             FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY
                    AS u(board, key, rev, version, key_words, body, texts, i)) v
       LEFT JOIN LATERAL (
         SELECT o.tsv, o.source_md5 FROM search_docs o WHERE o.board = v.board AND o.key = v.key LIMIT 1
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
       SELECT f.board, f.key, f.rev, f.version, f.texts::jsonb,
              CASE WHEN f.old_source = f.source THEN f.old_tsv
                   ELSE setweight(to_tsvector(f.cfg, f.key_words), 'A') || to_tsvector(f.cfg, f.body) END,
              f.source
       FROM fresh f
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
