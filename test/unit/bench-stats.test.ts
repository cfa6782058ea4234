import { describe, expect, it } from 'vitest';
import { alternate, inTurns } from '../../bench/stats.js';

describe('bench turns', () => {
  it('runs the baseline first in each pair and keeps each side’s results in turn order', async () => {
    const calls: string[] = [];
    const runs = await inTurns(
      3,
      async (turn) => {
        calls.push(`m${turn}`);
        return turn * 10;
      },
      async (turn) => {
        calls.push(`b${turn}`);
        return turn;
      },
    );
    expect(calls).toEqual(['b0', 'm0', 'b1', 'm1', 'b2', 'm2']);
    expect(runs).toEqual({ measured: [0, 10, 20], baseline: [0, 1, 2] });
  });

  it('alternate runs every operation index once per side, across its slices', async () => {
    const seen = { measured: [] as number[], baseline: [] as number[] };
    const result = await alternate(
      10,
      3,
      async (i) => seen.measured.push(i),
      async (i) => seen.baseline.push(i),
      4,
    );
    // 4 slices of ceil(10 / 4) = 3: 12 operations, indexes 0..11, each once.
    expect([...seen.measured].sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    expect([...seen.baseline].sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    expect(result.measured.latencies).toHaveLength(12);
    expect(result.baseline.latencies).toEqual([...result.baseline.latencies].sort((a, b) => a - b));
  });
});
