import fc from 'fast-check';
import fastJsonPatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { BlackboardError } from '../../shared/protocol/errors.js';
import type { JsonPatch } from '../../shared/protocol/messages/kv.js';
import { applyJsonPatch, PatchBudget } from '../../server/board/patch.js';
import { PATCH_WORK_FACTOR } from '../../server/board/patch-apply.js';

type Outcome = { ok: true; text: string } | { ok: false; code: string; reason?: unknown };

function ours(doc: unknown, patch: JsonPatch, limit: number, budget = new PatchBudget(limit)): Outcome {
  try {
    return { ok: true, text: applyJsonPatch(JSON.stringify(doc), patch, false, budget) };
  } catch (err) {
    if (err instanceof BlackboardError) return { ok: false, code: err.code, reason: (err.details as { reason?: unknown }).reason };
    throw err;
  }
}

/** fast-json-patch, the library the server used before: the reference for patches within bounds. */
function reference(doc: unknown, patch: JsonPatch): { outcome: Outcome; largest: number } {
  let document: unknown = structuredClone(doc);
  let largest = JSON.stringify(document).length;
  try {
    for (const op of structuredClone(patch)) {
      document = fastJsonPatch.applyOperation(document, op as fastJsonPatch.Operation, true, true).newDocument;
      largest = Math.max(largest, JSON.stringify(document).length);
    }
    return { outcome: { ok: true, text: JSON.stringify(document) }, largest };
  } catch (err) {
    const name = (err as { name?: string }).name;
    return { outcome: { ok: false, code: name === 'TEST_OPERATION_FAILED' ? 'CONFLICT' : 'BAD_REQUEST' }, largest };
  }
}

const name = fc.constantFrom('a', 'b', 'c');
const leaf = fc.oneof(fc.integer({ min: -5, max: 99 }), fc.stringMatching(/^[a-z]{0,6}$/), fc.boolean(), fc.constant(null));
const json = fc.letrec<{ value: {} | null }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(name, tie('value'), { maxKeys: 3 }),
  ),
})).value;
const token = fc.oneof(name, fc.constantFrom('0', '1', '2', '-'));
const pointer = fc.array(token, { maxLength: 3 }).map((t) => (t.length === 0 ? '' : `/${t.join('/')}`));
const operation: fc.Arbitrary<JsonPatch[number]> = fc.oneof(
  fc.record({ op: fc.constant('add' as const), path: pointer, value: json }),
  fc.record({ op: fc.constant('replace' as const), path: pointer, value: json }),
  fc.record({ op: fc.constant('remove' as const), path: pointer }),
  fc.record({ op: fc.constant('test' as const), path: pointer, value: json }),
  fc.record({ op: fc.constant('move' as const), from: pointer, path: pointer }),
  fc.record({ op: fc.constant('copy' as const), from: pointer, path: pointer }),
);
const doc = fc.dictionary(name, json, { maxKeys: 3 });

/** Cases where the reference does something RFC 6902 forbids: not compared. */
function referenceOutOfSpec(patch: JsonPatch): boolean {
  return (
    patch.some(
      (op) =>
        ((op.op === 'move' || op.op === 'copy') && op.path.startsWith(`${op.from}/`)) ||
        (op.op !== 'add' && /\/-(\/|$)/.test(op.path)) ||
        ((op.op === 'move' || op.op === 'copy') && /\/-(\/|$)/.test(op.from)) ||
        /\/-\//.test(op.path),
    ) ||
    // Once the root is replaced by a scalar, the reference ignores operations on its members.
    patch.slice(0, -1).some((op) => op.path === '')
  );
}

describe('bounded JSON Patch', () => {
  it('within bounds, gives what the reference library gives (result, or class of error)', () => {
    fc.assert(
      fc.property(doc, fc.array(operation, { maxLength: 6 }), (d, patch) => {
        fc.pre(!referenceOutOfSpec(patch));
        const mine = ours(d, patch, 1_000_000);
        const ref = reference(d, patch).outcome;
        // The reference runs the add inside a `move` unvalidated (an index past the end is clamped), and a
        // `copy` or `move` to the root reads `from` unvalidated (indexing into a string): RFC 6902 refuses both.
        if (ref.ok && !mine.ok && mine.code === 'BAD_REQUEST' && patch.some((op) => op.op === 'move' || op.op === 'copy')) return;
        // Member order is not part of a JSON value (a move onto itself may reorder it in the reference).
        if (ref.ok) expect(mine.ok && JSON.parse(mine.text)).toEqual(JSON.parse(ref.text));
        else expect(mine.ok ? 'ok' : mine.code).toBe(ref.code);
      }),
      { numRuns: 5_000 },
    );
  });

  it('never returns a value past the limit, and refuses with TOO_LARGE only when some step of the patch passes it', () => {
    const copies = fc.array(
      fc.record({ op: fc.constant('copy' as const), from: fc.constantFrom('', '/a', '/b'), path: fc.constantFrom('/a', '/b', '/c', '/d') }),
      { minLength: 1, maxLength: 8 },
    );
    fc.assert(
      fc.property(
        doc,
        fc.array(
          fc.oneof(
            operation,
            operation,
            copies.map((c) => c[0]!),
          ),
          { maxLength: 10 },
        ),
        fc.integer({ min: 20, max: 400 }),
        (d, patch, limit) => {
          fc.pre(!referenceOutOfSpec(patch));
          const start = JSON.stringify(d).length;
          fc.pre(start <= limit);
          const budget = new PatchBudget(limit);
          const mine = ours(d, patch, limit, budget);
          const ref = reference(d, patch);
          if (mine.ok) {
            expect(mine.text.length).toBeLessThanOrEqual(limit);
            if (ref.outcome.ok) expect(JSON.parse(mine.text)).toEqual(JSON.parse(ref.outcome.text));
          } else if (mine.code === 'TOO_LARGE' && mine.reason === 'size') {
            // Some operation of the patch made (or would have made) the value too large.
            expect(ref.largest).toBeGreaterThan(limit);
          }
          expect(budget.used).toBeLessThanOrEqual(budget.maxWork + 2_048);
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('the copy bomb (17 copies of the whole value into itself) is refused at the first copy past the limit', () => {
    const limit = 256 * 1024;
    const value = { pad: 'x'.repeat(100 * 1024) };
    const bomb: JsonPatch = Array.from({ length: 17 }, (_, i) => ({ op: 'copy' as const, from: '', path: `/k${i}` }));
    const budget = new PatchBudget(limit);
    expect(ours(value, bomb, limit, budget)).toEqual({ ok: false, code: 'TOO_LARGE', reason: 'size' });
    // The first copy fits (about 200 KB), the second would not: nothing past that was built or walked.
    expect(budget.used).toBeLessThan(limit);
  });

  it('many operations that each walk the whole value are refused once the request has done its share of work', () => {
    const limit = 256 * 1024;
    const big = { list: Array.from({ length: 20_000 }, (_, i) => i) };
    const tests: JsonPatch = Array.from({ length: 10_000 }, () => ({ op: 'test' as const, path: '/list', value: big.list }));
    const budget = new PatchBudget(limit);
    expect(ours(big, tests, limit, budget)).toEqual({ ok: false, code: 'TOO_LARGE', reason: 'work' });
    // Each container is charged before it is walked: the charge that is refused is at most one list long.
    expect(budget.used).toBeLessThanOrEqual(PATCH_WORK_FACTOR * limit + big.list.length + 1);
    // Removing from the front of a long array shifts it each time: that counts too.
    const shifts: JsonPatch = Array.from({ length: 10_000 }, () => ({ op: 'remove' as const, path: '/list/0' }));
    const longList = { list: Array.from({ length: 100_000 }, () => 0) };
    expect(ours(longList, shifts, limit)).toEqual({ ok: false, code: 'TOO_LARGE', reason: 'work' });
    // Removals from the front of a short list are ordinary work.
    expect(ours({ list: Array.from({ length: 1_000 }, () => 0) }, shifts.slice(0, 1_000), limit).ok).toBe(true);
  });

  it('a failing test operation is CONFLICT with reason "test"', () => {
    expect(ours({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }], 1_000)).toEqual({ ok: false, code: 'CONFLICT', reason: 'test' });
  });

  it('keeps __proto__ as an ordinary member name', () => {
    const result = ours({}, [{ op: 'add', path: '/__proto__', value: { polluted: true } }], 1_000);
    expect(result).toEqual({ ok: true, text: '{"__proto__":{"polluted":true}}' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
