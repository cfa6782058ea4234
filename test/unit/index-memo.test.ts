import { describe, expect, it } from 'vitest';
import { IndexMemo } from '../../server/search/index-memo.js';
import type { IndexChange } from '../../server/search/index-writer.js';

const put = (board: string, key: string, value: string, rev = 1): IndexChange => ({ board, key, rev, version: rev, value });
const del = (board: string, key: string, rev = 1): IndexChange => ({ board, key, rev, version: 0, value: null });

describe('IndexMemo', () => {
  it('answers a put of the value a document holds, and nothing else', () => {
    const memo = new IndexMemo();
    memo.committed('b', 'e1', 10, [put('b', 'k', '{"a":1}'), put('b', 'j', '"x"')]);
    memo.check('b', 'e1', 10, true);
    const same = put('b', 'k', '{"a":1}', 11);
    const other = put('b', 'k', '{"a":2}', 11);
    const unknown = put('b', 'new', '{"a":1}', 11);
    const elsewhere = put('c', 'k', '{"a":1}', 11);
    const gone = del('b', 'j', 11);
    expect(memo.pending([same, other, unknown, elsewhere, gone])).toEqual([other, unknown, elsewhere, gone]);
  });

  it('drops a board whose watermark or epoch moved without it, or that has revisions past a gap', () => {
    for (const [epoch, watermark, gapFree] of [
      ['e1', 11, true],
      ['e2', 10, true],
      ['e1', 10, false],
    ] as const) {
      const memo = new IndexMemo();
      memo.committed('b', 'e1', 10, [put('b', 'k', '1')]);
      memo.check('b', epoch, watermark, gapFree);
      expect(memo.size).toBe(0);
      const again = put('b', 'k', '1', 12);
      expect(memo.pending([again])).toEqual([again]);
    }
  });

  it('follows a round: a delete forgets its key, a new value replaces the old', () => {
    const memo = new IndexMemo();
    memo.committed('b', 'e1', 5, [put('b', 'k', '1'), put('b', 'j', '2')]);
    memo.committed('b', 'e1', 9, [del('b', 'k', 6), put('b', 'j', '3', 7)]);
    expect(memo.size).toBe(1);
    memo.check('b', 'e1', 9, true);
    const old = put('b', 'j', '2', 10);
    expect(memo.pending([old, put('b', 'j', '3', 10)])).toEqual([old]);
  });

  it('holds at most its number of keys, forgetting the boards recorded longest ago', () => {
    const memo = new IndexMemo(5);
    const keys = (board: string, n: number) => Array.from({ length: n }, (_, i) => put(board, `k${i}`, '1'));
    memo.committed('a', 'e', 1, keys('a', 2));
    memo.committed('b', 'e', 1, keys('b', 2));
    memo.committed('a', 'e', 2, keys('a', 2));
    memo.committed('c', 'e', 1, keys('c', 2));
    // Over 5: b (recorded longest ago) goes; a and c stay.
    expect(memo.size).toBe(4);
    expect(memo.pending(keys('b', 1))).toHaveLength(1);
    expect(memo.pending([...keys('a', 2), ...keys('c', 2)])).toEqual([]);
    // One board alone above the bound is not kept.
    memo.committed('d', 'e', 1, keys('d', 6));
    expect(memo.pending(keys('d', 6))).toHaveLength(6);
    expect(memo.size).toBeLessThanOrEqual(5);
  });
});
