/** Small statistics helpers for the benchmark report. */

export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  baselineName?: string;
  /** value / baseline (or baseline / value for latencies, so higher is always better). */
  ratio?: number;
  goal?: string;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Runs `total` async operations with `inFlight` at a time; returns per-operation latencies (ms) and the wall time. */
export async function runConcurrent(total: number, inFlight: number, op: (i: number) => Promise<unknown>): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = new Array(total);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        await op(i);
        latencies[i] = performance.now() - t0;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { latencies: latencies.sort((a, b) => a - b), seconds };
}

export function throughputFigures(
  label: string,
  measured: { latencies: number[]; seconds: number },
  baseline: { latencies: number[]; seconds: number },
  baselineName: string,
  goal?: string,
): Figure[] {
  const rate = measured.latencies.length / measured.seconds;
  const baseRate = baseline.latencies.length / baseline.seconds;
  const p50 = percentile(measured.latencies, 50);
  const p99 = percentile(measured.latencies, 99);
  const bp50 = percentile(baseline.latencies, 50);
  const bp99 = percentile(baseline.latencies, 99);
  return [
    {
      name: `${label} throughput`,
      value: round(rate, 0),
      unit: 'ops/s',
      baseline: round(baseRate, 0),
      baselineName,
      ratio: round(rate / baseRate, 3),
      ...(goal ? { goal } : {}),
    },
    { name: `${label} p50 latency`, value: round(p50, 3), unit: 'ms', baseline: round(bp50, 3), baselineName, ratio: round(bp50 / p50, 3) },
    { name: `${label} p99 latency`, value: round(p99, 3), unit: 'ms', baseline: round(bp99, 3), baselineName, ratio: round(bp99 / p99, 3) },
  ];
}

/**
 * Two paths taking `turns` turns each, the baseline first in each pair, so that a drift in the
 * machine's speed (other work, a CPU frequency change) falls on both alike. `turn` gets the
 * pair's index.
 */
export async function inTurns<T>(
  turns: number,
  measured: (turn: number) => Promise<T>,
  baseline: (turn: number) => Promise<T>,
): Promise<{ measured: T[]; baseline: T[] }> {
  const runs = { measured: [] as T[], baseline: [] as T[] };
  for (let turn = 0; turn < turns; turn++) {
    runs.baseline.push(await baseline(turn));
    runs.measured.push(await measured(turn));
  }
  return runs;
}

/** Two paths at the same concurrency taking turns (inTurns) in `slices` slices of `total` operations. */
export async function alternate(
  total: number,
  inFlight: number,
  measured: (i: number) => Promise<unknown>,
  baseline: (i: number) => Promise<unknown>,
  slices = 4,
): Promise<{ measured: { latencies: number[]; seconds: number }; baseline: { latencies: number[]; seconds: number } }> {
  type Run = { latencies: number[]; seconds: number };
  const slice = Math.max(1, Math.ceil(total / slices));
  const runs = await inTurns(
    slices,
    (s) => runConcurrent(slice, inFlight, (i) => measured(s * slice + i)),
    (s) => runConcurrent(slice, inFlight, (i) => baseline(s * slice + i)),
  );
  const merge = (parts: Run[]): Run => ({
    latencies: parts.flatMap((p) => p.latencies).sort((a, b) => a - b),
    seconds: parts.reduce((sum, p) => sum + p.seconds, 0),
  });
  return { measured: merge(runs.measured), baseline: merge(runs.baseline) };
}
