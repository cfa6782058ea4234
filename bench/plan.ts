/**
 * How much work each section does. BENCH_SCALE multiplies the operation counts;
 * BENCH_QUICK=1 shrinks counts and connection numbers so the whole script runs in about
 * a minute (to check it works, not to quote its figures).
 */
export interface Plan {
  quick: boolean;
  scale: number;
  /** BENCH_ONLY: section-title prefixes to run; the report files are left alone when set. */
  only: string[] | null;
  /** Multiplies every operation count (`count(n)` applies it). */
  count(n: number): number;
  fanoutSubscribers: number[];
  nodesSubscribers: number;
  idleConnections: number;
  sweep: { subscribers: number; sampled: number; rates: number[]; stepSeconds: number; writers: number };
  replayRevisions: number;
  etcdWatchers: number;
}

export function makePlan(env: Record<string, string | undefined> = process.env): Plan {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const given = Number(env.BENCH_SCALE ?? 1);
  const userScale = Number.isFinite(given) && given > 0 ? given : 1;
  const scale = quick ? userScale * 0.1 : userScale;
  const count = (n: number) => Math.max(1, Math.round(n * scale));
  const only = (env.BENCH_ONLY ?? '')
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');
  return {
    quick,
    scale,
    only: only.length > 0 ? only : null,
    count,
    fanoutSubscribers: quick ? [100, 1_000] : [100, 1_000, 5_000],
    nodesSubscribers: quick ? 400 : 2_000,
    idleConnections: quick ? 1_000 : 5_000,
    sweep: quick
      ? { subscribers: 200, sampled: 20, rates: [250, 1_000, 4_000], stepSeconds: 1, writers: 4 }
      : { subscribers: 1_000, sampled: 50, rates: [250, 500, 1_000, 2_000, 4_000, 8_000], stepSeconds: 3, writers: 4 },
    replayRevisions: count(20_000),
    etcdWatchers: quick ? 200 : 1_000,
  };
}
