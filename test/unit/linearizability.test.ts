import { describe, expect, it } from 'vitest';
import {
  checkHistory,
  checkKeyedHistory,
  type CasOperation,
  type CasOutput,
  type DeleteOperation,
  type ReadOperation,
  type RegisterOperation,
  type WriteOperation,
} from '../faults/checker/linearizability.js';
import { simulateLinearizableRegister } from '../faults/checker/simulated-register.js';

// Small builders so each history below reads like a timeline: client, [call, ret], what it saw.
const read = (client: number, call: number, ret: number, version: number, value: string | null): ReadOperation => ({
  client,
  op: 'read',
  call,
  ret,
  output: { version, value },
});
const write = (client: number, call: number, ret: number, value: string, version: number): WriteOperation => ({
  client,
  op: 'write',
  call,
  ret,
  input: { value },
  output: { version },
});
const cas = (client: number, call: number, ret: number, ifVersion: number, value: string, output: CasOutput): CasOperation => ({
  client,
  op: 'cas',
  call,
  ret,
  input: { value, ifVersion },
  output,
});
const remove = (client: number, call: number, ret: number, ok: boolean): DeleteOperation => ({
  client,
  op: 'delete',
  call,
  ret,
  output: { ok },
});
const timedOutWrite = (client: number, call: number, value: string): WriteOperation => ({
  client,
  op: 'write',
  call,
  unknown: true,
  input: { value },
});
const timedOutCas = (client: number, call: number, ifVersion: number, value: string): CasOperation => ({
  client,
  op: 'cas',
  call,
  unknown: true,
  input: { value, ifVersion },
});

describe('checkHistory accepts linearizable histories', () => {
  it('accepts a sequential history of every operation kind', () => {
    const history = [
      read(0, 0, 1, 0, null),
      write(0, 2, 3, 'a', 1),
      cas(0, 4, 5, 1, 'b', { ok: true, version: 2 }),
      cas(0, 6, 7, 1, 'c', { ok: false, currentVersion: 2 }),
      read(0, 8, 9, 2, 'b'),
      remove(0, 10, 11, true),
      remove(0, 12, 13, false),
      read(0, 14, 15, 0, null),
      write(0, 16, 17, 'd', 1),
    ];
    expect(checkHistory(history)).toEqual({ ok: true, unknownOps: 0, checkedOps: 9 });
  });

  it('accepts overlapping writes taking effect in either order', () => {
    const aFirst = [write(1, 0, 10, 'a', 1), write(2, 1, 11, 'b', 2), read(3, 12, 13, 2, 'b')];
    const bFirst = [write(1, 0, 10, 'a', 2), write(2, 1, 11, 'b', 1), read(3, 12, 13, 2, 'a')];
    expect(checkHistory(aFirst).ok).toBe(true);
    expect(checkHistory(bFirst).ok).toBe(true);
  });

  it('accepts reads concurrent with a write seeing the old or the new value, old before new', () => {
    const history = [write(1, 0, 1, 'a', 1), write(2, 2, 10, 'b', 2), read(3, 3, 4, 1, 'a'), read(4, 5, 6, 2, 'b')];
    expect(checkHistory(history).ok).toBe(true);
  });

  it('accepts a timed-out write that took effect, even after the client gave up', () => {
    const history = [write(1, 0, 1, 'a', 1), timedOutWrite(2, 2, 'b'), read(3, 3, 4, 1, 'a'), read(3, 50, 51, 2, 'b')];
    expect(checkHistory(history)).toEqual({ ok: true, unknownOps: 1, checkedOps: 3 });
  });

  it('accepts a timed-out write that never took effect', () => {
    const history = [write(1, 0, 1, 'a', 1), timedOutWrite(2, 2, 'b'), read(3, 50, 51, 1, 'a'), write(1, 52, 53, 'c', 2)];
    expect(checkHistory(history).ok).toBe(true);
  });

  it('accepts a timed-out write explaining a version gap nobody read', () => {
    const history = [write(1, 0, 1, 'a', 1), timedOutWrite(2, 2, 'b'), write(1, 5, 6, 'c', 3)];
    expect(checkHistory(history).ok).toBe(true);
  });

  it('accepts a CAS race that exactly one client wins', () => {
    const history = [
      write(0, 0, 1, 'start', 1),
      cas(1, 2, 10, 1, 'x', { ok: false, currentVersion: 2 }),
      cas(2, 3, 9, 1, 'y', { ok: true, version: 2 }),
      timedOutCas(3, 4, 1, 'z'),
      read(0, 11, 12, 2, 'y'),
    ];
    expect(checkHistory(history).ok).toBe(true);
  });

  it('treats operations touching at one instant as concurrent', () => {
    expect(checkHistory([write(1, 0, 5, 'a', 1), read(2, 5, 6, 0, null)]).ok).toBe(true);
  });
});

describe('checkHistory rejects non-linearizable histories', () => {
  it('rejects a stale read after a later write completed, naming the read', () => {
    const stale = read(3, 4, 5, 1, 'a');
    const result = checkHistory([write(1, 0, 1, 'a', 1), write(2, 2, 3, 'b', 2), stale]);
    expect(result.ok).toBe(false);
    expect(result.failure?.culprit).toBe(stale);
    expect(result.failure?.minimalPrefix).toHaveLength(3);
    expect(result.failure?.reason).toContain('read by client 3');
  });

  it('rejects a lost update: two CAS increments of the same version both succeed', () => {
    const history = [
      write(0, 0, 1, '0', 1),
      read(1, 2, 3, 1, '0'),
      read(2, 2, 3, 1, '0'),
      cas(1, 4, 6, 1, '1', { ok: true, version: 2 }),
      cas(2, 5, 7, 1, '1', { ok: true, version: 3 }),
      read(0, 8, 9, 3, '1'),
    ];
    expect(checkHistory(history).ok).toBe(false);
  });

  it('rejects a CAS that succeeded twice on one version', () => {
    const history = [write(0, 0, 1, 'start', 1), cas(1, 2, 5, 1, 'x', { ok: true, version: 2 }), cas(2, 3, 6, 1, 'y', { ok: true, version: 2 })];
    expect(checkHistory(history).ok).toBe(false);
  });

  it('rejects a CAS race that nobody wins', () => {
    const history = [write(0, 0, 1, 'start', 1), cas(1, 2, 5, 1, 'x', { ok: false }), cas(2, 3, 6, 1, 'y', { ok: false }), read(0, 7, 8, 1, 'start')];
    expect(checkHistory(history).ok).toBe(false);
  });

  it('rejects a read of a value never written', () => {
    const ghost = read(2, 2, 3, 1, 'ghost');
    const result = checkHistory([write(1, 0, 1, 'a', 1), ghost]);
    expect(result.ok).toBe(false);
    expect(result.failure?.culprit).toBe(ghost);
    expect(result.failure?.reason).toContain('no operation wrote');
  });

  it('rejects a read that sees a write before the write was sent', () => {
    expect(checkHistory([read(1, 0, 1, 1, 'a'), write(2, 2, 3, 'a', 1)]).ok).toBe(false);
  });

  it('rejects a timed-out write that is seen and then unseen', () => {
    const history = [write(1, 0, 1, 'a', 1), timedOutWrite(2, 2, 'b'), read(3, 3, 4, 2, 'b'), read(3, 5, 6, 1, 'a')];
    expect(checkHistory(history).ok).toBe(false);
  });

  it('rejects a successful delete of a key that does not exist', () => {
    expect(checkHistory([remove(1, 0, 1, true)]).ok).toBe(false);
  });
});

describe('checkKeyedHistory', () => {
  const onKey = (key: string, operations: RegisterOperation[]): RegisterOperation[] => operations.map((operation) => ({ ...operation, key }));

  it('checks each key as its own register', () => {
    const history = [...onKey('a', [write(1, 0, 10, 'x', 1)]), ...onKey('b', [write(2, 1, 2, 'x', 1), read(2, 3, 4, 1, 'x')])];
    expect(checkKeyedHistory(history)).toEqual({ ok: true, unknownOps: 0, checkedOps: 3, keys: 2 });
  });

  it('reports the key whose history is not linearizable', () => {
    const history = [
      ...onKey('a', [write(1, 0, 1, 'x', 1), read(1, 2, 3, 1, 'x')]),
      ...onKey('b', [write(2, 0, 1, 'x', 1), write(2, 2, 3, 'y', 2), read(3, 4, 5, 1, 'x')]),
    ];
    const result = checkKeyedHistory(history);
    expect(result.ok).toBe(false);
    expect(result.failure?.key).toBe('b');
  });

  it('refuses to check several keys as one register', () => {
    const history = [...onKey('a', [write(1, 0, 1, 'x', 1)]), ...onKey('b', [write(1, 2, 3, 'x', 1)])];
    expect(() => checkHistory(history)).toThrow(/checkKeyedHistory/);
  });
});

describe('generated histories from a correct register', () => {
  // Simulated once, outside the tests, so their time budget is spent on checking.
  const { ops, valuesByVersion } = simulateLinearizableRegister({
    operations: 2_400,
    clients: 16,
    seed: 20_240_601,
    unknownRate: 0.05,
  });

  it('accepts 2,000+ operations from 16 concurrent clients with timeouts, quickly', () => {
    const started = performance.now();
    const result = checkHistory(ops, { timeoutMs: 4_000 });
    const elapsedMs = performance.now() - started;
    expect(result.partial).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.unknownOps).toBeGreaterThan(50);
    expect(result.unknownOps + result.checkedOps).toBe(2_400);
    expect(elapsedMs).toBeLessThan(4_000);
  });

  it('rejects the same history once a single read is made stale', () => {
    const valueAt = valuesByVersion.get('register') ?? [];
    const { index, staleVersion } = pickReadToMakeStale(ops);
    const victim = ops[index] as ReadOperation;
    const staleRead: ReadOperation = { ...victim, output: { version: staleVersion, value: valueAt[staleVersion] ?? null } };
    const mutated = ops.map((operation, at) => (at === index ? staleRead : operation));

    const result = checkHistory(mutated, { timeoutMs: 4_000 });
    expect(result.ok).toBe(false);
    expect(result.failure?.culprit).toBe(staleRead);
  });

  it('accepts several keys with deletes through checkKeyedHistory', () => {
    const { ops } = simulateLinearizableRegister({
      operations: 1_500,
      clients: 8,
      seed: 7,
      unknownRate: 0.05,
      deleteRate: 0.03,
      keys: ['alpha', 'beta', 'gamma'],
    });
    const result = checkKeyedHistory(ops, { timeoutMs: 4_000 });
    expect(result).toMatchObject({ ok: true, keys: 3 });
    expect(result.partial).toBeUndefined();
  });
});

/**
 * A read in the second half of the history that starts after some write
 * completed creating version v: reading version v - 1 there is impossible.
 */
function pickReadToMakeStale(ops: readonly RegisterOperation[]): { index: number; staleVersion: number } {
  const completedWrites = ops
    .filter((operation) => operation.ret !== undefined && createdVersion(operation) > 0)
    .map((operation) => ({ ret: operation.ret ?? Infinity, version: createdVersion(operation) }));
  const midpoint = [...ops].sort((a, b) => a.call - b.call)[Math.floor(ops.length / 2)]?.call ?? 0;
  const index = ops.findIndex((operation) => operation.op === 'read' && operation.output !== undefined && operation.call > midpoint);
  const candidate = ops[index];
  if (candidate === undefined) throw new Error('the simulation produced no read to mutate');
  const newest = Math.max(...completedWrites.filter((w) => w.ret < candidate.call).map((w) => w.version));
  return { index, staleVersion: newest - 1 };
}

function createdVersion(operation: RegisterOperation): number {
  if (operation.op === 'write') return operation.output?.version ?? 0;
  if (operation.op === 'cas' && operation.output?.ok === true) return operation.output.version;
  return 0;
}
