/** An inclusive run of revisions committed to Postgres. */
export interface RevRange {
  from: number;
  to: number;
}

/** Splits ascending revisions into contiguous runs. */
export function toRuns(revs: readonly number[]): RevRange[] {
  const runs: RevRange[] = [];
  for (const rev of revs) {
    const last = runs[runs.length - 1];
    if (last && rev <= last.to + 1) last.to = Math.max(last.to, rev);
    else runs.push({ from: rev, to: rev });
  }
  return runs;
}

/**
 * Moves a contiguous watermark over committed runs: it advances through every run that
 * touches it, and the runs still beyond a gap are returned to wait for it.
 */
export function advanceWatermark(watermark: number, ranges: readonly RevRange[]): { watermark: number; waiting: RevRange[] } {
  const sorted = [...ranges].sort((a, b) => a.from - b.from);
  const merged: RevRange[] = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else merged.push({ ...r });
  }
  let wm = watermark;
  const waiting: RevRange[] = [];
  for (const r of merged) {
    if (r.to <= wm) continue;
    if (r.from <= wm + 1) wm = r.to;
    else waiting.push(r);
  }
  return { watermark: wm, waiting };
}
