/**
 * Key patterns: exact keys or globs where `*` is exactly one path segment and `**` is
 * one or more segments. Like dot-files, `$` keys match only patterns starting with `$`.
 *
 * Matching takes time linear in the key's length whatever the pattern: it never
 * backtracks. The pattern's segments are the states of an automaton run over the key's
 * segments with bit-parallel state sets (shift-and, as in agrep), and a segment with
 * `*` inside (`a*b*c`) is matched greedily, which is exact for `*` alone.
 */

export type KeyMatcher = (key: string) => boolean;

/** Most `*` characters one pattern may hold (`**` counts two); more is BAD_REQUEST. */
export const MAX_PATTERN_STARS = 16;

export function isGlob(pattern: string): boolean {
  return pattern.includes('*');
}

export function patternStars(pattern: string): number {
  let stars = 0;
  for (let i = pattern.indexOf('*'); i !== -1; i = pattern.indexOf('*', i + 1)) stars++;
  return stars;
}

/** `*`s within one segment: the literal pieces between them, matched greedily left to right. */
function segmentGlob(segment: string): (text: string) => boolean {
  const pieces = segment.split('*');
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  const middle = pieces.slice(1, -1).filter((p) => p !== '');
  const minLength = pieces.reduce((n, p) => n + p.length, 0);
  return (text) => {
    if (text.length < minLength || !text.startsWith(first) || !text.endsWith(last)) return false;
    // Each piece at its leftmost place after the previous one leaves the most room for the rest.
    let at = first.length;
    const end = text.length - last.length;
    for (const piece of middle) {
      const found = text.indexOf(piece, at);
      if (found === -1 || found + piece.length > end) return false;
      at = found + piece.length;
    }
    return true;
  };
}

/** A compiled glob: one state per pattern segment, run over the key's segments. */
class SegmentAutomaton {
  private readonly words: number;
  /** Literal segment text → states it lets through. */
  private readonly literal = new Map<string, Uint32Array>();
  private readonly globs: Array<{ test: (text: string) => boolean; mask: Uint32Array }> = [];
  /** `**` states: they let any segment through, and keep their bit while they consume more. */
  private readonly any: Uint32Array;
  private readonly acceptWord: number;
  private readonly acceptBit: number;
  private state: Uint32Array;
  private next: Uint32Array;
  private readonly through: Uint32Array;

  constructor(segments: readonly string[]) {
    this.words = Math.ceil(segments.length / 32);
    const mask = () => new Uint32Array(this.words);
    this.any = mask();
    this.state = mask();
    this.next = mask();
    this.through = mask();
    const globsBySegment = new Map<string, Uint32Array>();
    segments.forEach((segment, i) => {
      const word = i >>> 5;
      const bit = 1 << (i & 31);
      if (segment === '**') {
        this.any[word]! |= bit;
      } else if (segment.includes('*')) {
        let m = globsBySegment.get(segment);
        if (!m) {
          globsBySegment.set(segment, (m = mask()));
          this.globs.push({ test: segmentGlob(segment), mask: m });
        }
        m[word]! |= bit;
      } else {
        let m = this.literal.get(segment);
        if (!m) this.literal.set(segment, (m = mask()));
        m[word]! |= bit;
      }
    });
    const last = segments.length - 1;
    this.acceptWord = last >>> 5;
    this.acceptBit = 1 << (last & 31);
  }

  /** The states that the key segment `text` lets through. */
  private throughOf(text: string): Uint32Array {
    const through = this.through;
    through.set(this.any);
    const literal = this.literal.get(text);
    if (literal) for (let w = 0; w < this.words; w++) through[w]! |= literal[w]!;
    for (const glob of this.globs) {
      if (glob.test(text)) for (let w = 0; w < this.words; w++) through[w]! |= glob.mask[w]!;
    }
    return through;
  }

  matches(key: string): boolean {
    return this.words === 1 ? this.matchesOneWord(segmentsOf(key)) : this.matchesWords(segmentsOf(key));
  }

  /** Up to 32 pattern segments (nearly every pattern): the state set is one integer. */
  private matchesOneWord(segments: readonly string[]): boolean {
    const any = this.any[0]!;
    let state = 0;
    for (let i = 0; i < segments.length; i++) {
      const text = segments[i]!;
      let through = any | (this.literal.get(text)?.[0] ?? 0);
      for (const glob of this.globs) if ((glob.mask[0]! & ~through) !== 0 && glob.test(text)) through |= glob.mask[0]!;
      state = i === 0 ? through & 1 : ((state << 1) & through) | (state & any);
      if (state === 0) return false;
    }
    return (state & this.acceptBit) !== 0;
  }

  private matchesWords(segments: readonly string[]): boolean {
    const words = this.words;
    let state = this.state;
    let next = this.next;
    for (let i = 0; i < segments.length; i++) {
      const through = this.throughOf(segments[i]!);
      let alive = 0;
      if (i === 0) {
        // Anchored at the key's start: only the first state can begin.
        next.fill(0);
        next[0] = through[0]! & 1;
        alive = next[0]!;
      } else {
        let carry = 0;
        for (let w = 0; w < words; w++) {
          const s = state[w]!;
          // Advance every state by one segment; `**` states may also stay where they are.
          const v = (((s << 1) | carry) & through[w]!) | (s & this.any[w]!);
          carry = s >>> 31;
          next[w] = v;
          alive |= v;
        }
      }
      [state, next] = [next, state];
      if (alive === 0) return false;
    }
    // The two buffers are reused by the next call; which is which does not matter.
    this.state = state;
    this.next = next;
    return (state[this.acceptWord]! & this.acceptBit) !== 0;
  }
}

/**
 * The segments of the key matched last: fan-out tests one key against many patterns in a
 * row, so it is split once for all of them.
 */
let lastKey = '';
let lastSegments: string[] = [''];
function segmentsOf(key: string): string[] {
  if (key !== lastKey) {
    lastSegments = key.split('/');
    lastKey = key;
  }
  return lastSegments;
}

export function compilePattern(pattern: string): KeyMatcher {
  if (!isGlob(pattern)) return (key) => key === pattern;
  const dollarOk = pattern.startsWith('$');
  const automaton = new SegmentAutomaton(pattern.split('/'));
  return (key) => (dollarOk || !key.startsWith('$')) && automaton.matches(key);
}

export function compilePatterns(patterns: readonly string[]): KeyMatcher {
  const exact = new Set(patterns.filter((p) => !isGlob(p)));
  const globs = patterns.filter(isGlob).map(compilePattern);
  if (globs.length === 0) return (key) => exact.has(key);
  return (key) => exact.has(key) || globs.some((match) => match(key));
}

/** The longest literal prefix every pattern shares, to narrow a scan of the board's keys. */
export function literalPrefix(patterns: readonly string[]): string {
  const prefixes = patterns.map((p) => {
    const star = p.indexOf('*');
    return star === -1 ? p : p.slice(0, star);
  });
  let common = prefixes[0] ?? '';
  for (const p of prefixes) {
    let i = 0;
    while (i < common.length && i < p.length && common[i] === p[i]) i++;
    common = common.slice(0, i);
  }
  return common;
}
