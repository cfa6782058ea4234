import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareWritesSortKeys, writesSortKey } from '@langchain/langgraph-checkpoint';
import { keyPath } from '../../shared/protocol/messages/common.js';
import {
  ThreadKeys,
  decodeSegment,
  encodeSegment,
  escapeText,
  invertCheckpointId,
  parseWriteSegment,
  unescapeText,
  writeSegment,
} from '../../client/langgraph/keys.js';
import { StoreKeys } from '../../client/langgraph/store-keys.js';

/** Board order: keys compare as UTF-8 bytes (the server's ZRANGEBYLEX order). */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const sign = (n: number) => Math.sign(n);

/** Well-formed strings (no lone surrogates), weighted towards the characters the escape handles. */
const text = fc.string({
  unit: fc.oneof(
    fc.constantFrom('!', '.', '/', '~', '\u007f', ' ', '\u0000', '\u001f', '"', '-', '0', 'A', 'é', '😀', '\uffff'),
    fc.string({ unit: 'grapheme', maxLength: 1 }),
  ),
});

describe('LangGraph key encoding', () => {
  it('escaping is reversible and yields valid key segments', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(unescapeText(escapeText(s))).toBe(s);
        expect(decodeSegment(encodeSegment(s))).toBe(s);
        const segment = encodeSegment(s);
        expect(segment.length).toBeGreaterThan(0);
        expect(keyPath.safeParse(`lg/${segment}/x`).success).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('write keys sort on the board exactly as writesSortKey orders the writes', () => {
    const write = fc.tuple(text, text, fc.integer({ min: -4, max: 5_000 }));
    fc.assert(
      fc.property(write, write, ([pa, ta, ia], [pb, tb, ib]) => {
        const expected = sign(compareWritesSortKeys(writesSortKey(pa, ta, ia), writesSortKey(pb, tb, ib)));
        expect(sign(byteOrder(writeSegment(pa, ta, ia), writeSegment(pb, tb, ib)))).toBe(expected);
        expect(parseWriteSegment(writeSegment(pa, ta, ia))).toEqual({ taskPath: pa, taskId: ta, idx: ia });
      }),
      { numRuns: 5_000 },
    );
  });

  it('inverted checkpoint ids sort newest first and invert back', () => {
    const uuid = fc.uuid().map((u) => u.toLowerCase());
    fc.assert(
      fc.property(uuid, uuid, (a, b) => {
        expect(invertCheckpointId(invertCheckpointId(a))).toBe(a);
        expect(sign(byteOrder(invertCheckpointId(a), invertCheckpointId(b)))).toBe(-sign(byteOrder(a, b)));
      }),
    );
    expect(() => invertCheckpointId('1ef4-not-a-uuid')).toThrow(expect.objectContaining({ code: 'INVALID_CHECKPOINT_ID' }));
  });

  it('the head sorts before every checkpoint of its thread, and names are checked', () => {
    const keys = new ThreadKeys('lg', 'thread/1', '');
    expect(keys.head).toBe('lg/thread.B1/~/checkpoints');
    const id = '1f0e0c5a-9c1b-6a40-8001-0123456789ab';
    expect(byteOrder(keys.head, keys.checkpoint(id))).toBeLessThan(0);
    expect(keys.write(id, '~__pregel_pull, step', 'task', 0).startsWith(`${keys.checkpoint(id)}/`)).toBe(true);
    expect(() => new ThreadKeys('lg', 'x'.repeat(520), '')).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
    expect(() => escapeText('bad\ud800')).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
  });

  it('store item keys never look like a namespace, and parse back', () => {
    const label = text.filter((s) => s !== '' && !s.includes('.') && !s.includes(':'));
    const keys = new StoreKeys('lgstore');
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 4 }), text, (namespace, key) => {
        const boardKey = keys.item(namespace, key);
        expect(keyPath.safeParse(boardKey).success).toBe(true);
        expect(keys.parse(boardKey)).toEqual({ namespace, key });
        expect(keys.parse(keys.prefix(namespace).slice(0, -1))).toBeNull();
        // Every item of the namespace lies before the jump past its items.
        expect(byteOrder(boardKey, keys.afterItems(namespace))).toBeLessThan(0);
      }),
    );
  });
});
