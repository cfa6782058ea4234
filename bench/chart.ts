import type { SweepPoint } from './load-sweep.js';

/**
 * The latency-against-offered-load chart as a hand-built SVG: log-scaled axes, one line per
 * latency series, the share refused written above each rate, and guides at the 100 ms goal
 * and at the saturating rate.
 */

const W = 760;
const H = 460;
const M = { left: 72, right: 24, top: 78, bottom: 76 };
const SERIES: Array<{ key: 'ackP50' | 'ackP99' | 'eventP99'; label: string; color: string }> = [
  { key: 'ackP50', label: 'ack p50', color: '#1f77b4' },
  { key: 'ackP99', label: 'ack p99', color: '#d62728' },
  { key: 'eventP99', label: 'event delivery p99', color: '#2ca02c' },
];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n: number) => (n >= 1 ? String(Math.round(n)) : n.toFixed(1));

function msLabel(ms: number): string {
  return ms >= 1_000 ? `${Number((ms / 1_000).toPrecision(3))} s` : `${fmt(ms)} ms`;
}

export function latencyChart(points: SweepPoint[], options: { subscribers: number; capacity: number; goalMs: number; goal: SweepPoint | null }): string {
  const pts = [...points].sort((a, b) => a.offered - b.offered);
  const goal = options.goal;
  const xs = [...pts, ...(goal ? [goal] : [])].map((p) => p.offered);
  const values = [...pts, ...(goal ? [goal] : [])].flatMap((p) => SERIES.map((s) => p[s.key])).filter((v) => v > 0);
  const xMin = Math.min(...xs) / 1.25;
  const xMax = Math.max(...xs) * 1.25;
  // At least a decade below the goal line, so that it never sits on the axis.
  const yMin = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...values, options.goalMs) / 1.5)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...values, options.goalMs * 2)));
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const x = (v: number) => M.left + (Math.log(v / xMin) / Math.log(xMax / xMin)) * plotW;
  const y = (v: number) => M.top + plotH - (Math.log(Math.max(v, yMin) / yMin) / Math.log(yMax / yMin)) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(`Latency against offered write load, ${options.subscribers} subscribers`)}</text>`,
  ];
  // Decade grid and y labels.
  for (let d = yMin; d <= yMax * 1.0001; d *= 10) {
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 8}" y="${y(d) + 4}" text-anchor="end">${esc(msLabel(d))}</text>`);
  }
  // X ticks at each offered rate, with the refused share above the plot.
  for (const p of pts) {
    const px = x(p.offered);
    const refused = p.issued === 0 ? 0 : p.refused / p.issued;
    out.push(`<line x1="${px}" x2="${px}" y1="${M.top}" y2="${M.top + plotH}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${px}" y="${M.top + plotH + 18}" text-anchor="middle">${p.offered}</text>`);
    out.push(`<text x="${px}" y="${M.top - 16}" text-anchor="middle" fill="#666">${Math.round(refused * 100)}%</text>`);
  }
  out.push(`<text x="${M.left - 8}" y="${M.top - 16}" text-anchor="end" fill="#666">refused:</text>`);
  out.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${M.left + plotW / 2}" y="${H - 18}" text-anchor="middle">offered writes per second (open loop, log scale)</text>`);
  out.push(`<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency (log scale)</text>`);
  // Guides: the goal and the saturating rate.
  const gy = y(options.goalMs);
  out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${gy}" y2="${gy}" stroke="#d62728" stroke-dasharray="6 4" stroke-width="1"/>`);
  out.push(`<text x="${W - M.right - 6}" y="${gy - 6}" text-anchor="end" fill="#d62728">goal: ack p99 &lt; ${options.goalMs} ms at 2× saturation</text>`);
  if (options.capacity > xMin && options.capacity < xMax) {
    const cx = x(options.capacity);
    out.push(`<line x1="${cx}" x2="${cx}" y1="${M.top}" y2="${M.top + plotH}" stroke="#555" stroke-dasharray="3 3"/>`);
    out.push(`<text x="${cx + 4}" y="${M.top + plotH - 8}" fill="#555">saturation ≈ ${Math.round(options.capacity)}/s</text>`);
  }
  // The series.
  for (const s of SERIES) {
    const drawn = pts.filter((p) => p[s.key] > 0);
    if (drawn.length === 0) continue;
    const path = drawn.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.offered).toFixed(1)},${y(p[s.key]).toFixed(1)}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const p of drawn) out.push(`<circle cx="${x(p.offered).toFixed(1)}" cy="${y(p[s.key]).toFixed(1)}" r="3" fill="${s.color}"/>`);
  }
  // The step at twice the saturating rate, measured apart: hollow markers and a label, off the lines.
  if (goal) {
    const gx = x(goal.offered);
    for (const s of SERIES) {
      if (goal[s.key] > 0)
        out.push(
          `<rect x="${(gx - 4).toFixed(1)}" y="${(y(goal[s.key]) - 4).toFixed(1)}" width="8" height="8" fill="#fff" stroke="${s.color}" stroke-width="2"/>`,
        );
    }
    const refused = goal.issued === 0 ? 0 : goal.refused / goal.issued;
    const label = `2× saturation (${goal.offered}/s): ack p99 ${msLabel(goal.ackP99)}, ${Math.round(refused * 100)}% refused`;
    out.push(`<text x="${M.left + plotW / 2}" y="${M.top + plotH + 36}" text-anchor="middle" fill="#d62728">□ ${esc(label)}</text>`);
  }
  // Legend.
  SERIES.forEach((s, i) => {
    const lx = M.left + 12 + i * 170;
    const ly = M.top + 18;
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`);
    out.push(`<text x="${lx + 30}" y="${ly}">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
