/**
 * A reading of a web-search query (`deploy "exact phrase" -legacy or rollout`) into the
 * terms Postgres' `websearch_to_tsquery` sees, for what SQL cannot do with it alone:
 * rewriting misspelt words for the fuzzy fallback, and naming the words to highlight.
 * Words are runs of letters and digits, so the tsquery text built from them needs no
 * quoting.
 */

interface Term {
  /** One word, or several for a phrase (`"a b"`, or `a-b` as websearch reads it). */
  words: string[];
  negated: boolean;
}

/** Terms joined by `or`; a query is clauses joined by AND. */
type Clause = Term[];

/** Most terms a query may hold (the rest are ignored by the fuzzy rewrite). */
const MAX_TERMS = 32;

const TOKEN = /(-?)"([^"]*)"?|(\S+)/g;
const WORD = /[\p{L}\p{N}]+/gu;

function wordsOf(text: string): string[] {
  return [...text.matchAll(WORD)].map((m) => m[0].toLowerCase());
}

export function parseQuery(query: string): Clause[] {
  const clauses: Clause[] = [];
  let joinOr = false;
  let terms = 0;
  for (const m of query.matchAll(TOKEN)) {
    if (terms >= MAX_TERMS) break;
    let negated = m[1] === '-';
    let text = m[2];
    if (text === undefined) {
      text = m[3]!;
      if (text.toLowerCase() === 'or') {
        joinOr = clauses.length > 0;
        continue;
      }
      if (text.startsWith('-')) {
        negated = true;
        text = text.slice(1);
      }
    }
    const words = wordsOf(text);
    if (words.length === 0) continue;
    const term: Term = { words, negated };
    terms++;
    if (joinOr) clauses.at(-1)!.push(term);
    else clauses.push([term]);
    joinOr = false;
  }
  return clauses;
}

/** The distinct words of the terms that are not negated. */
export function positiveWords(clauses: readonly Clause[]): string[] {
  const words = new Set<string>();
  for (const clause of clauses) for (const term of clause) if (!term.negated) for (const w of term.words) words.add(w);
  return [...words];
}

/**
 * `to_tsquery` text for the query with each positive word replaced by the choice of
 * itself and the words close to it (`alternatives`); negated terms stay as written.
 */
export function fuzzyTsquery(clauses: readonly Clause[], alternatives: ReadonlyMap<string, readonly string[]>): string {
  const group = (word: string, fuzzy: boolean) => {
    const choices = fuzzy ? [...new Set([word, ...(alternatives.get(word) ?? [])])] : [word];
    return choices.length === 1 ? choices[0]! : `(${choices.join(' | ')})`;
  };
  const termText = (term: Term) => {
    const body = term.words.map((w) => group(w, !term.negated)).join(' <-> ');
    if (!term.negated) return term.words.length > 1 ? `(${body})` : body;
    return `!(${body})`;
  };
  return clauses.map((clause) => (clause.length === 1 ? termText(clause[0]!) : `(${clause.map(termText).join(' | ')})`)).join(' & ');
}

/** `to_tsquery` text matching any of the words (what highlights mark). */
export function anyWordTsquery(words: readonly string[]): string {
  return words.join(' | ');
}

/**
 * The edit distance within which a word of the board may stand for a query word, as
 * Elasticsearch's `AUTO` fuzziness has it: none for words of 1–2 letters, 1 for 3–5, 2 for
 * longer ones. Trigram similarity alone also offers words that merely share a stretch with the
 * query word (`quiet` for the typo `quietnsor`): a short, common word like that would turn a
 * typo into a search of half the board, and is no plausible correction.
 */
export function typoBudget(word: string): number {
  const length = [...word].length;
  return length <= 2 ? 0 : length <= 5 ? 1 : 2;
}

/**
 * Whether `a` and `b` are at most `max` edits apart (insertions, deletions, substitutions,
 * and swaps of two adjacent letters: the optimal string alignment distance). Only the cells
 * within `max` of the diagonal can stay within `max`, so only those are computed, and a row
 * with none within `max` ends it: O(length × max).
 */
export function withinEdits(a: string, b: string, max: number): boolean {
  const s = [...a];
  const t = [...b];
  if (Math.abs(s.length - t.length) > max) return false;
  const FAR = max + 1;
  let before = new Array<number>(t.length + 1).fill(FAR);
  let previous = Array.from({ length: t.length + 1 }, (_, j) => Math.min(j, FAR));
  let current = new Array<number>(t.length + 1).fill(FAR);
  for (let i = 1; i <= s.length; i++) {
    const from = Math.max(1, i - max);
    const to = Math.min(t.length, i + max);
    // The cells beside the band read as too far (the column 0 cell as its distance).
    current[from - 1] = from === 1 ? Math.min(i, FAR) : FAR;
    if (to < t.length) current[to + 1] = FAR;
    let best = i <= max ? i : FAR;
    for (let j = from; j <= to; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current[j] = Math.min(d, FAR);
      if (d < best) best = d;
    }
    if (best > max) return false;
    const spare = before;
    before = previous;
    previous = current;
    current = spare;
  }
  return previous[t.length]! <= max;
}
