import { compilePattern, type KeyMatcher } from '../../shared/protocol/globs.js';

/**
 * Which schema governs a key. A key matched by several patterns is governed by the most
 * specific one: the longest literal prefix (the text before the first `*`); on a tie an
 * exact pattern, then the one with fewer `*`, then the longer pattern, then byte order.
 */

export interface SchemaRule {
  pattern: string;
  /** The pattern as one key segment, naming its `$schemas/<id>/…` keys. */
  id: string;
  latest: number;
  /** When the latest version was registered (ms). */
  registeredAt: number;
  /** The version of the pattern's `$schemas/<id>/latest` record: a compare on it fails once a newer version exists. */
  headVersion: number;
  matches: KeyMatcher;
}

/** `encodeURIComponent` leaves no `/`, so the id is one segment of a `$schemas/…` key. */
export function patternId(pattern: string): string {
  return encodeURIComponent(pattern);
}

function literalLength(pattern: string): number {
  const star = pattern.indexOf('*');
  return star === -1 ? pattern.length : star;
}

function wildcards(pattern: string): number {
  let n = 0;
  for (const ch of pattern) if (ch === '*') n++;
  return n;
}

/** Most specific first. */
export function bySpecificity(a: { pattern: string }, b: { pattern: string }): number {
  return (
    literalLength(b.pattern) - literalLength(a.pattern) ||
    wildcards(a.pattern) - wildcards(b.pattern) ||
    b.pattern.length - a.pattern.length ||
    (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0)
  );
}

export function makeRule(pattern: string, latest: number, registeredAt: number, headVersion: number): SchemaRule {
  return { pattern, id: patternId(pattern), latest, registeredAt, headVersion, matches: compilePattern(pattern) };
}

/** The rule governing `key` among rules sorted by bySpecificity, if any. Server keys have none. */
export function governing(rules: readonly SchemaRule[], key: string): SchemaRule | undefined {
  if (key.startsWith('$')) return undefined;
  for (const rule of rules) if (rule.matches(key)) return rule;
  return undefined;
}
