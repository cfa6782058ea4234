import { describe, expect, it } from 'vitest';
import { fullJitterDelay } from '../../client/sdk/backoff.js';
import { compilePatterns, literalPrefix } from '../../shared/protocol/globs.js';
import { encodeJson, exceedsDepth, parseJson, RawJson, stringifyJson } from '../../shared/protocol/json.js';
import { parseRevision } from '../../server/board/event-codec.js';
import { parseRecord } from '../../server/board/records.js';
import { KeyQueue } from '../../server/board/key-queue.js';

describe('full-jitter backoff', () => {
  it('stays between 0 and min(cap, base·2^attempt)', () => {
    expect(fullJitterDelay(0, 100, 5_000, () => 0.999)).toBe(99);
    expect(fullJitterDelay(3, 100, 5_000, () => 0.5)).toBe(400);
    expect(fullJitterDelay(20, 100, 5_000, () => 0.999)).toBe(4_995);
    expect(fullJitterDelay(5, 100, 5_000, () => 0)).toBe(0);
  });
});

describe('globs', () => {
  it('* is one segment, ** one or more, exact keys match themselves', () => {
    const m = compilePatterns(['plan/*', 'notes/**', 'exact/key']);
    expect(['plan/a', 'notes/a', 'notes/a/b/c', 'exact/key'].map(m)).toEqual([true, true, true, true]);
    expect(['plan/a/b', 'plan', 'notes', 'exact/key/x', 'planx/a'].map(m)).toEqual([false, false, false, false, false]);
    expect(compilePatterns(['a*/x'])('abc/x')).toBe(true);
    expect(compilePatterns(['a.b/*'])('axb/c')).toBe(false);
  });
  it('$ keys need a pattern that starts with $', () => {
    expect(compilePatterns(['*/**'])('$locks/x')).toBe(false);
    expect(compilePatterns(['$locks/**'])('$locks/x')).toBe(true);
  });
  it('literal prefix narrows scans', () => {
    expect(literalPrefix(['plan/a/*', 'plan/b'])).toBe('plan/');
    expect(literalPrefix(['**'])).toBe('');
  });
});

describe('lossless JSON', () => {
  it('keeps integers past 2^53 and decimals past double precision', () => {
    const text = '{"a":12345678901234567890123,"b":[],"c":0.12345678901234567890,"d":1}';
    const parsed = parseJson(text);
    expect(parsed.lossless).toBe(true);
    expect(stringifyJson(parsed.value, true)).toBe(text);
    expect(parseJson('{"a":1}').lossless).toBe(false);
  });
  it('encodes raw JSON verbatim and measures depth', () => {
    expect(encodeJson({ v: new RawJson('[1,  2]'), n: null, s: 'x' })).toBe('{"v":[1,  2],"n":null,"s":"x"}');
    expect(exceedsDepth(JSON.parse('[[[[1]]]]'), 4)).toBe(false);
    expect(exceedsDepth(JSON.parse('[[[[[1]]]]]'), 4)).toBe(true);
  });
});

describe('records and revisions', () => {
  it('parses the stored record and the published revision', () => {
    expect(parseRecord('3:1:9:{"a":"x:y"}')).toEqual({ version: 3, createRev: 1, modRev: 9, valueText: '{"a":"x:y"}' });
    expect(parseRecord('')).toBeNull();
    const rev = parseRevision('7\nep\n2\na\n{"rev":7}\n\nb\n{"rev":7,"x":1}\n[{"op":"add"}]');
    expect(rev.rev).toBe(7);
    expect(rev.epoch).toBe('ep');
    expect(rev.entries).toEqual([
      { key: 'a', eventJson: '{"rev":7}', patchJson: '' },
      { key: 'b', eventJson: '{"rev":7,"x":1}', patchJson: '[{"op":"add"}]' },
    ]);
  });
});

describe('key queue', () => {
  it('runs tasks of one key one at a time, in order, and keeps going after a failure', async () => {
    const q = new KeyQueue();
    const order: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const task =
      (name: string, fail = false) =>
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 5));
        order.push(name);
        running--;
        if (fail) throw new Error(name);
      };
    const results = await Promise.allSettled([q.run('k', task('a')), q.run('k', task('b', true)), q.run('k', task('c'))]);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(maxRunning).toBe(1);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
