import type pg from 'pg';
import type { KeyMatcher } from '../../shared/protocol/globs.js';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { isConnectionError } from '../history/db.js';
import { candidateSql, type CandidatePage, type Position, type Source } from './candidates.js';
import { extractText } from './extract.js';
import { highlight, unmark, type Highlight } from './highlights.js';
import { anyWordTsquery, fuzzyTsquery, parseQuery, positiveWords, typoBudget, withinEdits } from './query-terms.js';
import { decodeCursor, encodeCursor } from './cursor.js';

interface SearchSpec {
  board: string;
  query: string;
  /** Key prefixes the token may read; null: all. */
  scopePrefixes: readonly string[] | null;
  patterns: { heads: readonly string[]; match: KeyMatcher } | null;
  source: Source;
  limit: number;
  after: string | undefined;
}

interface SearchItem {
  key: string;
  rev: number;
  version: number;
  score: number;
  highlights: Highlight[];
}

interface SearchPage {
  items: SearchItem[];
  /** The watermark the index held (with `atRev`: that revision). */
  rev: number;
  more: boolean;
  next?: string;
  fuzzy?: true;
}

/** Ranked rows read per statement when `patterns` may reject some. */
const BATCH_ROWS = 256;
/** Ranked rows one request may look at (only `patterns` make it skip any): past it, the reply ends with `more`. */
const MAX_ROWS_LOOKED_AT = 20_000;
/** Close words tried per misspelt word. */
const FUZZY_ALTERNATIVES = 4;
/** postgres: statement_timeout fired. */
const QUERY_CANCELED = '57014';

type Row = CandidatePage['rows'][number];
type TsQuery = { kind: 'web' | 'raw'; text: string };

interface Collected {
  rev: number;
  language: string;
  items: Row[];
  more: boolean;
  last: Position | null;
}

/**
 * Runs searches on a pool of its own (its connections carry the statement timeout). A
 * page of current values is one statement (watermark, language, ranked rows and their
 * highlights, in one snapshot); history, atRev and patterns take one more for the
 * highlights; the fuzzy fallback adds the look-up of close words and one more page.
 */
export class Searcher {
  constructor(
    private readonly pool: pg.Pool,
    private readonly timeoutMs: number,
  ) {}

  async search(spec: SearchSpec): Promise<SearchPage> {
    const cursor = spec.after === undefined ? null : decodeCursor(spec.after);
    try {
      return await this.run(spec, cursor);
    } catch (err) {
      throw this.wireError(err);
    }
  }

  private async run(spec: SearchSpec, cursor: ReturnType<typeof decodeCursor> | null): Promise<SearchPage> {
    const clauses = parseQuery(spec.query);
    let words = positiveWords(clauses);
    let fuzzy = cursor?.fuzzy === true;
    let tsquery: TsQuery = { kind: 'web', text: spec.query };
    // A page after the first keeps the mode of the first.
    if (fuzzy) {
      const alternatives = await this.closeWords(spec.board, words);
      tsquery = { kind: 'raw', text: fuzzyTsquery(clauses, alternatives) };
      words = [...new Set([...words, ...[...alternatives.values()].flat()])];
    }
    let found = await this.collect(spec, tsquery, cursor?.position ?? null, words);
    if (!fuzzy && cursor === null && found.items.length === 0 && !found.more && words.length > 0) {
      // Nothing matched as written: try the words closest to the query's (a typo, a variant).
      const alternatives = await this.closeWords(spec.board, words);
      if ([...alternatives.values()].some((list) => list.length > 0)) {
        const marked = [...new Set([...words, ...[...alternatives.values()].flat()])];
        const close = await this.collect(spec, { kind: 'raw', text: fuzzyTsquery(clauses, alternatives) }, null, marked);
        // Only a fuzzy search that found something says so: the board's words are not all the
        // caller's to see, and `fuzzy` on an empty reply would tell that a close word exists.
        if (close.items.length > 0 || close.more) {
          fuzzy = true;
          found = close;
          words = marked;
        }
      }
    }
    const items = found.items.map((row) => ({
      key: row.key,
      rev: Number(row.rev),
      version: Number(row.version),
      score: row.score,
      highlights: (row.headlines ?? []).map(([path, headline]): Highlight => ({ path, ...unmark(headline) })),
    }));
    if (found.items.some((row) => row.headlines === undefined)) {
      // Not computed with the page (history, atRev, patterns): one more statement for them.
      const strings = found.items.map((row) => row.texts ?? (row.value === null ? [] : extractText(row.value).texts));
      const marked = await highlight(this.pool, found.language, anyWordTsquery(words), strings);
      items.forEach((item, i) => (item.highlights = marked[i]!));
    }
    return {
      items,
      rev: spec.source.kind === 'at' ? spec.source.atRev : found.rev,
      more: found.more,
      ...(found.more && found.last ? { next: encodeCursor({ fuzzy, position: found.last }) } : {}),
      ...(fuzzy ? { fuzzy: true as const } : {}),
    };
  }

  /**
   * Ranked rows, kept when `patterns` match, until `limit` + 1 or the bound on rows looked
   * at. Without patterns one statement reads exactly `limit` + 1 rows.
   */
  private async collect(spec: SearchSpec, tsquery: TsQuery, after: Position | null, words: readonly string[]): Promise<Collected> {
    const batch = spec.patterns === null ? spec.limit + 1 : Math.max(spec.limit + 1, BATCH_ROWS);
    const items: Row[] = [];
    let lookedAt = 0;
    let last: Position | null = after;
    let head: { rev: number; language: string } | null = null;
    for (;;) {
      const sql = candidateSql({
        board: spec.board,
        tsquery,
        scopePrefixes: spec.scopePrefixes,
        patternHeads: spec.patterns?.heads ?? null,
        source: spec.source,
        after: last,
        limit: batch,
        // Highlights in the same statement when every row read is kept (no patterns) and comes from the index.
        highlight: spec.patterns === null && spec.source.kind === 'current' && words.length > 0 ? anyWordTsquery(words) : null,
      });
      const { rows } = await this.pool.query<{ rev: string | null; language: string; rows: Row[] }>(sql.text, sql.values);
      const page = rows[0]!;
      head ??= { rev: Number(page.rev ?? 0), language: page.language };
      const done = (more: boolean): Collected => ({ ...head!, items, more, last });
      for (const row of page.rows) {
        if (spec.patterns === null || spec.patterns.match(row.key)) {
          if (items.length === spec.limit) return done(true);
          items.push(row);
        }
        lookedAt++;
        last = { score: row.score, key: row.key, rev: Number(row.rev) };
        if (lookedAt >= MAX_ROWS_LOOKED_AT) return done(true);
      }
      if (page.rows.length < batch) return done(false);
    }
  }

  /**
   * For each query word, the closest words of the board (pg_trgm similarity) within its typo
   * budget of edits (typoBudget). Twice the alternatives kept are looked up, as the budget
   * leaves some out.
   */
  private async closeWords(board: string, words: string[]): Promise<Map<string, string[]>> {
    const { rows } = await this.pool.query<{ word: string; alt: string }>(
      `SELECT q.word, w.word AS alt
       FROM unnest($2::text[]) AS q(word)
       CROSS JOIN LATERAL (
         SELECT s.word FROM search_words s WHERE s.board = $1 AND s.word % q.word
         ORDER BY similarity(s.word, q.word) DESC, s.word LIMIT ${FUZZY_ALTERNATIVES * 2}
       ) w`,
      [board, words],
    );
    const out = new Map<string, string[]>(words.map((w) => [w, []]));
    for (const r of rows) {
      const list = out.get(r.word);
      if (list && list.length < FUZZY_ALTERNATIVES && withinEdits(r.alt, r.word, typoBudget(r.word))) list.push(r.alt);
    }
    return out;
  }

  private wireError(err: unknown): Error {
    if (err instanceof BlackboardError) return err;
    const code = (err as { code?: unknown }).code;
    if (code === QUERY_CANCELED) {
      return new BlackboardError(ErrorCode.TIMEOUT, `search took longer than ${this.timeoutMs} ms; narrow it (patterns, a rarer word)`, {
        timeoutMs: this.timeoutMs,
      });
    }
    if (isConnectionError(err)) return new BlackboardError(ErrorCode.UNAVAILABLE, 'search (Postgres) is unavailable; retry later');
    return err as Error;
  }
}
