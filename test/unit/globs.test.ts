import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePattern, MAX_PATTERN_STARS, patternStars } from '../../shared/protocol/globs.js';
import { subscribeRequest } from '../../shared/protocol/messages/subscriptions.js';

/**
 * The reference: the glob semantics written as a backtracking regular expression, which
 * is obviously right and exponentially slow on some inputs (which is why the server no
 * longer uses it). Only small inputs are given to it here.
 */
function referenceMatcher(pattern: string): (key: string) => boolean {
  if (!pattern.includes('*')) return (key) => key === pattern;
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const source = pattern
    .split('/')
    .map((segment) => (segment === '**' ? '[^/]+(?:/[^/]+)*' : segment.split('*').map(escape).join('[^/]*')))
    .join('/');
  const regex = new RegExp(`^${source}$`);
  const dollarOk = pattern.startsWith('$');
  return (key) => (dollarOk || !key.startsWith('$')) && regex.test(key);
}

/** Segments of a small alphabet, so that patterns and keys often meet. */
const keySegment = fc.stringMatching(/^[ab$.]{1,4}$/);
const patternSegment = fc.oneof(keySegment, fc.constant('*'), fc.constant('**'), fc.stringMatching(/^[ab*]{1,5}$/));
const key = fc.array(keySegment, { minLength: 1, maxLength: 8 }).map((s) => s.join('/'));
const pattern = fc.array(patternSegment, { minLength: 1, maxLength: 6 }).map((s) => s.join('/'));

describe('glob matcher', () => {
  it('agrees with the backtracking reference on random patterns and keys', () => {
    fc.assert(
      fc.property(pattern, fc.array(key, { minLength: 1, maxLength: 20 }), (p, keys) => {
        const fast = compilePattern(p);
        const slow = referenceMatcher(p);
        for (const k of keys) expect(fast(k)).toBe(slow(k));
      }),
      { numRuns: 3_000 },
    );
  });

  it('agrees with the reference on keys built to match the pattern', () => {
    // A key made from the pattern by filling each star: matching cases, not only misses.
    const filled = pattern.chain((p) =>
      fc.array(fc.stringMatching(/^[ab]{0,3}$/), { minLength: 40, maxLength: 40 }).map((fills) => {
        let i = 0;
        const k = p
          .split('/')
          .map((segment) => (segment === '**' ? `a/${fills[i++] || 'b'}` : segment.replace(/\*/g, () => fills[i++] ?? '')))
          .map((segment) => (segment === '' ? 'a' : segment))
          .join('/');
        return [p, k] as const;
      }),
    );
    fc.assert(
      fc.property(filled, ([p, k]) => {
        expect(compilePattern(p)(k)).toBe(referenceMatcher(p)(k));
      }),
      { numRuns: 3_000 },
    );
  });

  it('patterns wider than 32 segments (more than one state word) still match exactly', () => {
    const segments = Array.from({ length: 70 }, (_, i) => (i % 7 === 3 ? '*' : i % 11 === 5 ? '**' : `s${i}`));
    const p = segments.join('/');
    const matching = segments.map((s, i) => (s === '*' ? 'x' : s === '**' ? `y/z${i}` : s)).join('/');
    expect(compilePattern(p)(matching)).toBe(true);
    expect(referenceMatcher(p)(matching)).toBe(true);
    expect(compilePattern(p)(`${matching}/extra`)).toBe(false);
    expect(compilePattern(p)(matching.replace('s69', 's70'))).toBe(false);
  });

  it('the worst pattern the limits allow matches a 512-character key without backtracking', () => {
    // The attack: a chain of stars that a backtracking regex tries in every split.
    const worst = `x/${'*a'.repeat(MAX_PATTERN_STARS - 1)}*b`;
    expect(patternStars(worst)).toBe(MAX_PATTERN_STARS);
    const key = `x/${'a'.repeat(510)}`;
    const match = compilePattern(worst);
    // Deterministic, not timed: the answer is right, and 10,000 keys of it are matched in this test.
    for (let i = 0; i < 10_000; i++) expect(match(key)).toBe(false);
    expect(match(`x/${'a'.repeat(509)}b`)).toBe(true);
    const deep = compilePattern(`**/${'a/'.repeat(100)}b`);
    expect(deep('a/'.repeat(255) + 'a')).toBe(false);
    expect(deep('a/'.repeat(150) + 'b')).toBe(true);
  });

  it(`a pattern with more than ${MAX_PATTERN_STARS} stars is refused by the subscribe schema`, () => {
    const frame = (p: string) => ({ id: 1, op: 'subscribe', board: 'b', patterns: [p] });
    expect(subscribeRequest.safeParse(frame(`x/${'*a'.repeat(MAX_PATTERN_STARS + 1)}`)).success).toBe(false);
    expect(subscribeRequest.safeParse(frame(`x/${'*a'.repeat(MAX_PATTERN_STARS)}`)).success).toBe(true);
    expect(subscribeRequest.safeParse(frame('**/'.repeat(MAX_PATTERN_STARS / 2 + 1) + 'k')).success).toBe(false);
  });
});
