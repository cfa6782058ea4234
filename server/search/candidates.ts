import { EXCERPT_OPTIONS, WHOLE_OPTIONS, headlinesSql } from './highlights.js';

/**
 * The SQL of one search: the rows that match, ranked, in a stable order that a cursor
 * can resume: score descending, then key, then (history) revision descending. Every
 * filter that narrows what the caller may see (the token's key prefixes, the literal
 * heads of `patterns`) is in the WHERE clause, so nothing outside them is ranked.
 */

export type Source = { kind: 'current' } | { kind: 'at'; atRev: number } | { kind: 'history'; fromRev: number; toRev: number };

export interface Position {
  score: number;
  key: string;
  /** History only: the event's revision. */
  rev: number;
}

interface CandidateQuery {
  board: string;
  /** `web`: websearch_to_tsquery of the user's text; `raw`: to_tsquery text built here. */
  tsquery: { kind: 'web' | 'raw'; text: string };
  /** Key prefixes the token may read; null: all. */
  scopePrefixes: readonly string[] | null;
  /** Literal heads of the patterns; null: no patterns. */
  patternHeads: readonly string[] | null;
  source: Source;
  after: Position | null;
  /** Rows in this page. */
  limit: number;
  /**
   * `to_tsquery` text of the words to mark: with it (current values only), each row comes
   * with its highlights, computed in the same statement.
   */
  highlight: string | null;
}

/** One page of ranked rows, with what the statement saw of the board (one snapshot for all). */
export interface CandidatePage {
  /** The board's watermark. */
  rev: number;
  /** The board's text-search configuration. */
  language: string;
  rows: Array<{
    key: string;
    rev: number;
    version: number;
    score: number;
    texts: [string, string][] | null;
    value: string | null;
    /** `[path, headline]` pairs, when the statement computed them. */
    headlines?: [string, string][];
  }>;
}

/** Values longer than this are not searched in history (jsonb_to_tsvector holds at most 1 MB). */
const MAX_HISTORY_VALUE_CHARS = 200_000;

/** ts_rank_cd normalisation 1: divide by 1 + log(document length), so short exact hits rank above long rambling ones. */
const RANK = (tsv: string) => `ts_rank_cd(${tsv}, q.q, 1)::float8`;

/** A key's words plus its value's strings and member names, for events (the index holds this ready). */
const EVENT_TSV =
  `setweight(to_tsvector(q.cfg, regexp_replace(e.key, '[^[:alnum:]]+', ' ', 'g')), 'A') || ` + `jsonb_to_tsvector(q.cfg, e.value::jsonb, '["string", "key"]')`;

/** Values jsonb cannot take (an escaped NUL) or too large to search are skipped. */
const SEARCHABLE_VALUE = `e.value IS NOT NULL AND length(e.value) <= ${MAX_HISTORY_VALUE_CHARS} AND strpos(e.value, '\\u0000') = 0`;

/**
 * One statement for a page: the board's watermark and language, and the next `limit`
 * ranked rows after `after` as JSON, each with the strings its highlights come from
 * (from the index for current values, the event's value otherwise).
 */
export function candidateSql(c: CandidateQuery): { text: string; values: unknown[] } {
  const values: unknown[] = [c.board, c.tsquery.text];
  const param = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  const keyFilters = (column: string): string => {
    const parts: string[] = [`left(${column}, 1) <> '$'`];
    if (c.scopePrefixes !== null) parts.push(`EXISTS (SELECT 1 FROM unnest(${param(c.scopePrefixes)}::text[]) p WHERE starts_with(${column}, p))`);
    if (c.patternHeads !== null) parts.push(`EXISTS (SELECT 1 FROM unnest(${param(c.patternHeads)}::text[]) h WHERE starts_with(${column}, h))`);
    return parts.join(' AND ');
  };
  const tsq = c.tsquery.kind === 'web' ? 'websearch_to_tsquery' : 'to_tsquery';
  // OFFSET 0 keeps the query parsed once, not once per row it is ranked against.
  const q = `(SELECT h.cfg, ${tsq}(h.cfg, $2) AS q FROM head h OFFSET 0) q`;
  let inner: string;
  switch (c.source.kind) {
    case 'current':
      inner = `SELECT d.key, d.rev, d.version, ${RANK('d.tsv')} AS score
        FROM search_docs d, ${q}
        WHERE d.board = $1 AND d.tsv @@ q.q AND ${keyFilters('d.key')}`;
      break;
    case 'at':
      inner = `SELECT e.key, e.rev, e.version, ${RANK('t.tsv')} AS score
        FROM (SELECT DISTINCT ON (key) key, rev, version, type, value FROM events
              WHERE board = $1 AND rev <= ${param(c.source.atRev)} AND ${keyFilters('key')}
              ORDER BY key, rev DESC) e
        CROSS JOIN ${q}
        CROSS JOIN LATERAL (SELECT ${EVENT_TSV} AS tsv) t
        WHERE e.type = 1 AND ${SEARCHABLE_VALUE} AND t.tsv @@ q.q`;
      break;
    case 'history':
      inner = `SELECT e.key, e.rev, e.version, ${RANK('t.tsv')} AS score
        FROM events e
        CROSS JOIN ${q}
        CROSS JOIN LATERAL (SELECT ${EVENT_TSV} AS tsv) t
        WHERE e.board = $1 AND e.type = 1 AND e.rev >= ${param(c.source.fromRev)} AND e.rev <= ${param(c.source.toRev)}
          AND ${keyFilters('e.key')} AND ${SEARCHABLE_VALUE} AND t.tsv @@ q.q`;
      break;
  }
  let resume = '';
  if (c.after !== null) {
    const s = param(c.after.score);
    const k = param(c.after.key);
    resume =
      c.source.kind === 'history'
        ? `WHERE x.score < ${s} OR (x.score = ${s} AND (x.key > ${k} OR (x.key = ${k} AND x.rev < ${param(c.after.rev)})))`
        : `WHERE x.score < ${s} OR (x.score = ${s} AND x.key > ${k})`;
  }
  const order = c.source.kind === 'history' ? 'x.score DESC, x.key, x.rev DESC' : 'x.score DESC, x.key';
  let ranked = `SELECT x.key, x.rev, x.version, x.score FROM (${inner}) x ${resume} ORDER BY ${order} LIMIT ${param(c.limit)}`;
  if (c.source.kind === 'current') {
    // A document keeps the revision its text came from; the key's newest event (committed with
    // the index) gives its modRev and version. A key with no event since history began on this
    // board (its state came with the base snapshot) keeps the document's.
    ranked = `SELECT p.key, COALESCE(m.rev, p.rev) AS rev, COALESCE(m.version, p.version) AS version, p.score
      FROM (${ranked}) p
      LEFT JOIN LATERAL (SELECT e.rev, e.version FROM events e WHERE e.board = $1 AND e.key = p.key ORDER BY e.rev DESC LIMIT 1) m ON true`;
  }
  const strings =
    c.source.kind === 'current'
      ? `LEFT JOIN search_docs s ON s.board = $1 AND s.key = x.key`
      : `LEFT JOIN events s ON s.board = $1 AND s.rev = x.rev AND s.key = x.key`;
  let strings_ = strings;
  let texts = c.source.kind === 'current' ? 's.texts, NULL::text AS value' : 'NULL::jsonb AS texts, s.value';
  let marked = '';
  if (c.highlight !== null && c.source.kind === 'current') {
    const hq = param(c.highlight);
    marked = `, marked AS (SELECT h.cfg, to_tsquery(h.cfg, ${hq}) AS q FROM head h)`;
    texts = `NULL::jsonb AS texts, NULL::text AS value, ${headlinesSql('s.texts', 'mk.cfg', 'mk.q', param(WHOLE_OPTIONS), param(EXCERPT_OPTIONS))} AS headlines`;
    strings_ = `${strings} CROSS JOIN marked mk`;
  }
  const text = `WITH head AS (
      SELECT (SELECT persisted_rev FROM boards WHERE name = $1) AS rev,
             COALESCE((SELECT language FROM search_boards WHERE board = $1), 'simple'::regconfig) AS cfg)${marked}
    SELECT h.rev, h.cfg::text AS language,
      (SELECT COALESCE(json_agg(y ORDER BY ${order.replaceAll('x.', 'y.')}), '[]'::json)
       FROM (SELECT x.key, x.rev, x.version, x.score, ${texts} FROM (${ranked}) x ${strings_}) y) AS rows
    FROM head h`;
  return { text, values };
}
