/**
 * What of a value the search index reads: its JSON strings, each with its JSON Pointer
 * (for highlights), and its object member names. Numbers, booleans and nulls are not
 * text. Work is bounded: at most MAX_INDEXED_CHARS of text and MAX_INDEXED_STRINGS
 * strings per value; the rest of a larger value is not searchable.
 */

/** Characters of text indexed per key (a tsvector holds at most 1 MB, and a character takes up to 4 bytes). */
export const MAX_INDEXED_CHARS = 200_000;
/** Strings indexed per key. */
const MAX_INDEXED_STRINGS = 10_000;
/** Distinct words per key offered to the fuzzy matcher. */
const MAX_WORDS_PER_VALUE = 4_000;

/** One string of a value: where it sits (JSON Pointer) and its text. */
export type PathText = [path: string, text: string];

interface ExtractedText {
  /** The value's strings with their paths, in document order. */
  texts: PathText[];
  /** Member names, space-separated (searchable, never highlighted). */
  names: string;
}

// NUL cannot be stored in a Postgres text; the index drops it.
const NUL = /\u0000/g;

function pointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** The strings and member names of a JSON text (a value that does not parse is taken as one string). */
export function extractText(valueJson: string): ExtractedText {
  let value: unknown;
  try {
    value = JSON.parse(valueJson);
  } catch {
    value = valueJson;
  }
  const texts: PathText[] = [];
  const names: string[] = [];
  let budget = MAX_INDEXED_CHARS;
  const take = (text: string): string | null => {
    if (budget <= 0 || texts.length >= MAX_INDEXED_STRINGS) return null;
    const clean = text.includes('\u0000') ? text.replace(NUL, ' ') : text;
    const cut = clean.length > budget ? clean.slice(0, budget) : clean;
    budget -= cut.length + 1;
    return cut;
  };
  // An explicit stack: values nest up to MAX_JSON_DEPTH, and recursion is not needed.
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0 && budget > 0) {
    const [node, path] = stack.pop()!;
    if (typeof node === 'string') {
      const text = take(node);
      if (text !== null && text.trim() !== '') texts.push([path, text]);
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], `${path}/${i}`]);
    } else if (node !== null && typeof node === 'object') {
      const entries = Object.entries(node as Record<string, unknown>);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [name, child] = entries[i]!;
        stack.push([child, `${path}/${pointerToken(name)}`]);
      }
      for (const [name] of entries) {
        const text = take(name);
        if (text !== null) names.push(text);
      }
    }
  }
  return { texts, names: names.join(' ') };
}

/** A key as words: `notes/deploy-plan` reads `notes deploy plan`. */
export function keyWords(key: string): string {
  return key.replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

const WORD = /[\p{L}\p{N}]+/gu;
const HAS_LETTER = /\p{L}/u;
const MIN_FUZZY_WORD = 3;
const MAX_FUZZY_WORD = 32;

/** Words the fuzzy matcher may propose for a misspelt one: lower-cased, 3–32 characters, with a letter. */
export function fuzzyWords(text: string, into: Set<string>, max = MAX_WORDS_PER_VALUE): void {
  let added = 0;
  for (const match of text.matchAll(WORD)) {
    const word = match[0];
    if (word.length < MIN_FUZZY_WORD || word.length > MAX_FUZZY_WORD || !HAS_LETTER.test(word)) continue;
    const lower = word.toLowerCase();
    if (into.has(lower)) continue;
    into.add(lower);
    if (++added >= max) return;
  }
}
