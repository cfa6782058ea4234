import type pg from 'pg';
import type { KeyMatcher } from '../../shared/protocol/globs.js';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { isConnectionError } from '../history/db.js';
import { candidateSql, type Position, type Source } from './candidates.js';
import { extractText, type PathText } from './extract.js';
import { highlight, type Highlight } from './highlights.js';
import { anyWordTsquery, fuzzyTsquery, parseQuery, positiveWords } from './query-terms.js';
import { decodeCursor, encodeCursor } from './cursor.js';

export interface SearchSpec {
  board: string;
  query: string;
  /** Key prefixes the token may read; null: all. */
  scopePrefixes: readonly string[] | null;
  patterns: { heads: readonly string[]; match: KeyMatcher } | null;
  source: Source;
  limit: number;
  after: string | undefined;
}

export interface SearchItem {
  key: string;
  rev: number;
  version: number;
  score: number;
  highlights: Highlight[];
}

export interface SearchPage {
  items: SearchItem[];
  /** The watermark the index held (with `atRev`: that revision). */
  rev: number;
  more: boolean;
  next?: string;
  fuzzy?: true;
}

/** Rows fetched from the cursor at a time. */
const FETCH_ROWS = 256;
/** Ranked rows one request may look at (only `patterns` make it skip any): past it, the reply ends with `more`. */
const MAX_ROWS_LOOKED_AT = 20_000;
/** Close words tried per misspelt word. */
const FUZZY_ALTERNATIVES = 4;
/** postgres: statement_timeout fired. */
const QUERY_CANCELED = '57014';

interface Row {
  key: string;
  rev: string;
  version: string;
  score: number;
}

/** Runs searches on its own pool, each in one read-only snapshot with a statement timeout. */
export class Searcher {
  constructor(
    private readonly pool: pg.Pool,
    private readonly timeoutMs: number,
  ) {}

  async search(spec: SearchSpec): Promise<SearchPage> {
    const cursor = spec.after === undefined ? null : decodeCursor(spec.after);
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.wireError(err);
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`SET LOCAL statement_timeout = ${Math.floor(this.timeoutMs)}`);
      const page = await this.run(client, spec, cursor);
      await client.query('COMMIT');
      return page;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      if (isConnectionError(err)) broken = err as Error;
      throw this.wireError(err);
    } finally {
      client.release(broken);
    }
  }

  private async run(client: pg.PoolClient, spec: SearchSpec, cursor: ReturnType<typeof decodeCursor> | null): Promise<SearchPage> {
    const head = await client.query<{ persisted_rev: string | null; language: string | null }>(
      `SELECT (SELECT persisted_rev FROM boards WHERE name = $1) AS persisted_rev,
              (SELECT language::text FROM search_boards WHERE board = $1) AS language`,
      [spec.board],
    );
    const language = head.rows[0]?.language ?? 'simple';
    const rev = spec.source.kind === 'at' ? spec.source.atRev : Number(head.rows[0]?.persisted_rev ?? 0);
    const clauses = parseQuery(spec.query);
    let words = positiveWords(clauses);
    let fuzzy = cursor?.fuzzy === true;
    let tsquery: { kind: 'web' | 'raw'; text: string } = { kind: 'web', text: spec.query };
    // A page after the first keeps the mode of the first.
    if (fuzzy) {
      const alternatives = await this.closeWords(client, spec.board, words);
      tsquery = { kind: 'raw', text: fuzzyTsquery(clauses, alternatives) };
      words = [...new Set([...words, ...[...alternatives.values()].flat()])];
    }
    let found = await this.collect(client, spec, language, tsquery, cursor?.position ?? null);
    if (!fuzzy && cursor === null && found.items.length === 0 && !found.more && words.length > 0) {
      // Nothing matched as written: try the words closest to the query's (a typo, a variant).
      const alternatives = await this.closeWords(client, spec.board, words);
      if ([...alternatives.values()].some((list) => list.length > 0)) {
        const close = await this.collect(client, spec, language, { kind: 'raw', text: fuzzyTsquery(clauses, alternatives) }, null);
        // Only a fuzzy search that found something says so: the board's words are not all the
        // caller's to see, and `fuzzy` on an empty reply would tell that a close word exists.
        if (close.items.length > 0 || close.more) {
          fuzzy = true;
          found = close;
          words = [...new Set([...words, ...[...alternatives.values()].flat()])];
        }
      }
    }
    const strings = await this.stringsOf(client, spec, found.items);
    const marked = await highlight(client, language, anyWordTsquery(words), strings);
    const items = found.items.map((row, i) => ({
      key: row.key,
      rev: Number(row.rev),
      version: Number(row.version),
      score: row.score,
      highlights: marked[i]!,
    }));
    return {
      items,
      rev,
      more: found.more,
      ...(found.more && found.last ? { next: encodeCursor({ fuzzy, position: found.last }) } : {}),
      ...(fuzzy ? { fuzzy: true as const } : {}),
    };
  }

  /** Ranked rows through a cursor, kept when `patterns` match, until `limit` + 1 or the bound on rows looked at. */
  private async collect(
    client: pg.PoolClient,
    spec: SearchSpec,
    language: string,
    tsquery: { kind: 'web' | 'raw'; text: string },
    after: Position | null,
  ): Promise<{ items: Row[]; more: boolean; last: Position | null }> {
    const sql = candidateSql({
      board: spec.board,
      language,
      tsquery,
      scopePrefixes: spec.scopePrefixes,
      patternHeads: spec.patterns?.heads ?? null,
      source: spec.source,
      after,
    });
    await client.query(`DECLARE search_rows NO SCROLL CURSOR FOR ${sql.text}`, sql.values);
    const items: Row[] = [];
    let lookedAt = 0;
    let last: Position | null = null;
    try {
      for (;;) {
        const { rows } = await client.query<Row>(`FETCH ${FETCH_ROWS} FROM search_rows`);
        for (const row of rows) {
          if (spec.patterns === null || spec.patterns.match(row.key)) {
            if (items.length === spec.limit) return { items, more: true, last };
            items.push(row);
          }
          lookedAt++;
          last = { score: row.score, key: row.key, rev: Number(row.rev) };
          if (lookedAt >= MAX_ROWS_LOOKED_AT) return { items, more: true, last };
        }
        if (rows.length < FETCH_ROWS) return { items, more: false, last };
      }
    } finally {
      await client.query('CLOSE search_rows');
    }
  }

  /** For each word absent from the board's words, the closest ones present (pg_trgm similarity). */
  private async closeWords(client: pg.PoolClient, board: string, words: string[]): Promise<Map<string, string[]>> {
    const { rows } = await client.query<{ word: string; alt: string }>(
      `SELECT q.word, w.word AS alt
       FROM unnest($2::text[]) AS q(word)
       CROSS JOIN LATERAL (
         SELECT s.word FROM search_words s WHERE s.board = $1 AND s.word % q.word
         ORDER BY similarity(s.word, q.word) DESC, s.word LIMIT ${FUZZY_ALTERNATIVES}
       ) w`,
      [board, words],
    );
    const out = new Map<string, string[]>(words.map((w) => [w, []]));
    for (const r of rows) out.get(r.word)?.push(r.alt);
    return out;
  }

  /** The strings of each item's value: from the index for current values, from the events table otherwise. */
  private async stringsOf(client: pg.PoolClient, spec: SearchSpec, rows: Row[]): Promise<PathText[][]> {
    if (rows.length === 0) return [];
    if (spec.source.kind === 'current') {
      const { rows: docs } = await client.query<{ key: string; texts: PathText[] }>(
        'SELECT key, texts FROM search_docs WHERE board = $1 AND key = ANY($2::text[])',
        [spec.board, rows.map((r) => r.key)],
      );
      const byKey = new Map(docs.map((d) => [d.key, d.texts]));
      return rows.map((r) => byKey.get(r.key) ?? []);
    }
    const { rows: events } = await client.query<{ key: string; rev: string; value: string | null }>(
      `SELECT e.key, e.rev, e.value FROM events e
       JOIN unnest($2::text[], $3::int8[]) AS v(key, rev) ON e.key = v.key AND e.rev = v.rev
       WHERE e.board = $1`,
      [spec.board, rows.map((r) => r.key), rows.map((r) => Number(r.rev))],
    );
    const byId = new Map(events.map((e) => [`${e.rev}\n${e.key}`, e.value]));
    return rows.map((r) => {
      const value = byId.get(`${Number(r.rev)}\n${r.key}`);
      return value == null ? [] : extractText(value).texts;
    });
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
