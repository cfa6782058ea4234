import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../server/search/cursor.js';
import { extractText, fuzzyWords, keyWords, MAX_INDEXED_CHARS } from '../../server/search/extract.js';
import { unmark } from '../../server/search/highlights.js';
import { fuzzyTsquery, parseQuery, positiveWords, typoBudget, withinEdits } from '../../server/search/query-terms.js';
import { BlackboardError } from '../../shared/protocol/errors.js';

describe('what of a value is indexed', () => {
  it('takes every string with its JSON Pointer, in document order, and the member names', () => {
    const { texts, names } = extractText(JSON.stringify({ title: 'Plan', 'a/b': ['x', { '~c': 'deep' }], n: 3, ok: true, none: null }));
    expect(texts).toEqual([
      ['/title', 'Plan'],
      ['/a~1b/0', 'x'],
      ['/a~1b/1/~0c', 'deep'],
    ]);
    expect(names.split(' ').sort()).toEqual(['a/b', 'n', 'none', 'ok', 'title', '~c']);
    expect(extractText('"just a string"').texts).toEqual([['', 'just a string']]);
  });

  it('bounds the text taken from a large value, and drops NUL', () => {
    const big = extractText(JSON.stringify({ a: 'x'.repeat(MAX_INDEXED_CHARS), b: 'never reached' }));
    // The member names come out of the same budget.
    expect(big.texts.map(([p]) => p)).toEqual(['/a']);
    expect(big.texts[0]![1].length).toBeLessThanOrEqual(MAX_INDEXED_CHARS);
    expect(big.texts[0]![1].length).toBeGreaterThan(MAX_INDEXED_CHARS - 10);
    expect(extractText(JSON.stringify({ a: 'nul\u0000here' })).texts).toEqual([['/a', 'nul here']]);
  });

  it('reads keys as words and offers 3–32 character words with a letter to the fuzzy matcher', () => {
    expect(keyWords('notes/deploy-plan_v2')).toBe('notes deploy plan v2');
    const words = new Set<string>();
    fuzzyWords('Deploy the 2024 release to eu-west; ok, x', words);
    expect([...words].sort()).toEqual(['deploy', 'release', 'the', 'west']);
  });
});

describe('reading a web-search query', () => {
  it('splits words, phrases, exclusions and or', () => {
    const clauses = parseQuery('deploy "rollback plan" -draft or rollout -"old way"');
    expect(clauses).toEqual([
      [{ words: ['deploy'], negated: false }],
      [{ words: ['rollback', 'plan'], negated: false }],
      [
        { words: ['draft'], negated: true },
        { words: ['rollout'], negated: false },
      ],
      [{ words: ['old', 'way'], negated: true }],
    ]);
    expect(positiveWords(clauses)).toEqual(['deploy', 'rollback', 'plan', 'rollout']);
  });

  it('rewrites positive words into choices of close words; exclusions stay as written', () => {
    const clauses = parseQuery('deplyo "rolback plan" -draft');
    const alternatives = new Map([
      ['deplyo', ['deploy', 'deployed']],
      ['rolback', ['rollback']],
      ['plan', []],
    ]);
    expect(fuzzyTsquery(clauses, alternatives)).toBe('(deplyo | deploy | deployed) & ((rolback | rollback) <-> plan) & !(draft)');
  });

  it('takes as a correction only a word within the typo budget of edits (a swap of two neighbours is one)', () => {
    expect([typoBudget('ab'), typoBudget('abc'), typoBudget('abcde'), typoBudget('abcdef'), typoBudget('éèêëà')]).toEqual([0, 1, 1, 2, 1]);
    const close = (word: string, alt: string) => withinEdits(alt, word, typoBudget(word));
    expect(close('deplyo', 'deploy')).toBe(true);
    expect(close('relaese', 'release')).toBe(true);
    expect(close('garnetyte', 'garnetite')).toBe(true);
    expect(close('quietnsor', 'quitensor')).toBe(true);
    // Shares a stretch of trigrams, but four edits away: not a correction.
    expect(close('quietnsor', 'quiet')).toBe(false);
    expect(close('quieplka', 'quipelka')).toBe(true);
    expect(close('quieplka', 'quip')).toBe(false);
    expect(close('cat', 'cart')).toBe(true);
    expect(close('cat', 'carts')).toBe(false);
    expect(close('ox', 'ax')).toBe(false);
    // Exactly the budget, and one past it, in each of the ways an edit can go.
    expect(withinEdits('kitten', 'sitting', 3)).toBe(true);
    expect(withinEdits('kitten', 'sitting', 2)).toBe(false);
    expect(withinEdits('abcdef', 'badcfe', 3)).toBe(true);
    expect(withinEdits('abcdef', 'badcfe', 2)).toBe(false);
    expect(withinEdits('', 'ab', 2)).toBe(true);
    expect(withinEdits('ab', '', 1)).toBe(false);
  });

  it('decides the edit budget as the full distance table would, for random words near and far', () => {
    // The optimal string alignment distance over the whole table, as a reference.
    const distance = (a: string, b: string): number => {
      const s = [...a];
      const t = [...b];
      const d = Array.from({ length: s.length + 1 }, (_, i) => Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
      for (let i = 1; i <= s.length; i++) {
        for (let j = 1; j <= t.length; j++) {
          d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1));
          if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
        }
      }
      return d[s.length]![t.length]!;
    };
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const word = () => Array.from({ length: Math.floor(next() * 12) }, () => 'abé'[Math.floor(next() * 3)]).join('');
    for (let n = 0; n < 5_000; n++) {
      const [a, b, max] = [word(), word(), Math.floor(next() * 4)];
      expect(withinEdits(a, b, max), `${a} / ${b} within ${max}`).toBe(distance(a, b) <= max);
    }
  });

  it('leaves out tokens without letters or digits, and what websearch would not see as a term', () => {
    expect(parseQuery('!!! or "" -')).toEqual([]);
    expect(parseQuery('a-b')).toEqual([[{ words: ['a', 'b'], negated: false }]]);
  });
});

describe('highlights and cursors', () => {
  it('takes the markers out of a headline and keeps where the marked words are', () => {
    expect(unmark('Ship the \uE000release\uE001 on \uE000Friday\uE001')).toEqual({
      text: 'Ship the release on Friday',
      marks: [
        [9, 16],
        [20, 26],
      ],
    });
  });

  it('round-trips a cursor and refuses one the server did not give', () => {
    const cursor = { fuzzy: true, position: { score: 0.0123456789, key: 'a/b:c', rev: 42 } };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    for (const bad of ['x', Buffer.from('[1,2]').toString('base64url'), Buffer.from('[2,0.1,"k",1]').toString('base64url')]) {
      expect(() => decodeCursor(bad)).toThrow(BlackboardError);
    }
  });
});
