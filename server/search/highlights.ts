import type pg from 'pg';
import type { PathText } from './extract.js';

export interface Highlight {
  path: string;
  text: string;
  marks: Array<[number, number]>;
}

/** Highlights per item. */
const MAX_HIGHLIGHTS = 3;
/** Strings of one value looked at for highlights, and characters of each. */
const MAX_STRINGS_LOOKED_AT = 200;
const MAX_CHARS_LOOKED_AT = 20_000;

// Private-use characters mark the matches in ts_headline's output; they are taken out of the input first.
const START = '\uE000';
const STOP = '\uE001';
const SENTINELS = /[\uE000\uE001]/g;
const MARKERS = `StartSel="${START}", StopSel="${STOP}"`;
/** Strings up to this long come back whole; longer ones as excerpts around their matches. */
const WHOLE_CHARS = 240;

/**
 * SQL for the highlights of one indexed document, inside a page's statement: `texts` is its
 * `[[path, text], …]` (jsonb), `cfg` and `query` the board's configuration and the tsquery
 * of the words to mark, `whole` and `excerpts` parameters holding WHOLE_OPTIONS and
 * EXCERPT_OPTIONS. Yields `[[path, headline], …]`, at most MAX_HIGHLIGHTS, in document order.
 */
export function headlinesSql(texts: string, cfg: string, query: string, whole: string, excerpts: string): string {
  return `(SELECT COALESCE(json_agg(json_build_array(m.path, ts_headline(${cfg}, m.txt, ${query},
              CASE WHEN length(m.txt) <= ${WHOLE_CHARS} THEN ${whole} ELSE ${excerpts} END)) ORDER BY m.n), '[]'::json)
     FROM (SELECT a.n, a.t->>0 AS path, left(translate(a.t->>1, U&'\E000\E001', '  '), ${MAX_CHARS_LOOKED_AT}) AS txt
           FROM jsonb_array_elements(${texts}) WITH ORDINALITY AS a(t, n)
           WHERE a.n <= ${MAX_STRINGS_LOOKED_AT}
             AND to_tsvector(${cfg}, left(a.t->>1, ${MAX_CHARS_LOOKED_AT})) @@ ${query}
           ORDER BY a.n LIMIT ${MAX_HIGHLIGHTS}) m)`;
}

export const WHOLE_OPTIONS = `${MARKERS}, HighlightAll=true`;
export const EXCERPT_OPTIONS = `${MARKERS}, MaxWords=24, MinWords=8, MaxFragments=2, FragmentDelimiter=" … "`;

/** Takes the markers out of a headline: the plain text and where its marked words are. */
export function unmark(headline: string): { text: string; marks: Array<[number, number]> } {
  let text = '';
  const marks: Array<[number, number]> = [];
  let open = -1;
  for (const ch of headline) {
    if (ch === START) open = text.length;
    else if (ch === STOP) {
      if (open >= 0 && text.length > open) marks.push([open, text.length]);
      open = -1;
    } else text += ch;
  }
  return { text, marks };
}

/**
 * For each item's strings, excerpts of those that hold one of the query's words, with
 * the words marked (at most MAX_HIGHLIGHTS per item, in document order). `anyWord` is
 * `to_tsquery` text; empty (a query of exclusions only) gives no highlights.
 */
export async function highlight(
  client: pg.Pool | pg.PoolClient,
  language: string,
  anyWord: string,
  items: ReadonlyArray<readonly PathText[]>,
): Promise<Highlight[][]> {
  const out: Highlight[][] = items.map(() => []);
  if (anyWord === '') return out;
  const owner: number[] = [];
  const paths: string[] = [];
  const texts: string[] = [];
  items.forEach((strings, i) => {
    for (const [path, text] of strings.slice(0, MAX_STRINGS_LOOKED_AT)) {
      owner.push(i);
      paths.push(path);
      texts.push(text.slice(0, MAX_CHARS_LOOKED_AT).replace(SENTINELS, ' '));
    }
  });
  if (texts.length === 0) return out;
  const { rows } = await client.query<{ i: number; h: string }>(
    `SELECT x.i::int AS i, ts_headline($1::regconfig, x.t, q.q, CASE WHEN length(x.t) <= ${WHOLE_CHARS} THEN $3 ELSE $5 END) AS h
     FROM unnest($2::text[]) WITH ORDINALITY AS x(t, i), (SELECT to_tsquery($1::regconfig, $4) AS q) q
     WHERE to_tsvector($1::regconfig, x.t) @@ q.q
     ORDER BY x.i`,
    [language, texts, WHOLE_OPTIONS, anyWord, EXCERPT_OPTIONS],
  );
  for (const row of rows) {
    const at = row.i - 1;
    const list = out[owner[at]!]!;
    if (list.length >= MAX_HIGHLIGHTS) continue;
    list.push({ path: paths[at]!, ...unmark(row.h) });
  }
  return out;
}
