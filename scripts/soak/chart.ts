import type { Sample } from './sampler.js';

/**
 * The soak's memory over time as a hand-built SVG (like docs/benchmark-latency.svg):
 * server RSS and heap, Redis memory, and the event-loop delay p99 on its own axis.
 */

const W = 760;
const H = 420;
const M = { left: 64, right: 64, top: 48, bottom: 56 };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const MEMORY: Array<{ key: 'rssMiB' | 'heapMiB' | 'redisMiB'; label: string; color: string }> = [
  { key: 'rssMiB', label: 'server RSS', color: '#1f77b4' },
  { key: 'heapMiB', label: 'server heap used', color: '#2ca02c' },
  { key: 'redisMiB', label: 'Redis used memory', color: '#9467bd' },
];

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(v, 1)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function soakChart(samples: Sample[], title: string): string {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const tMax = Math.max(1, ...samples.map((s) => s.t));
  const memMax = niceMax(Math.max(...samples.flatMap((s) => MEMORY.map((m) => s[m.key]))) * 1.1);
  const lagMax = niceMax(Math.max(1, ...samples.map((s) => s.loopP99Ms)) * 1.1);
  const x = (t: number) => M.left + (t / tMax) * plotW;
  const y = (v: number) => M.top + plotH - (v / memMax) * plotH;
  const yLag = (v: number) => M.top + plotH - (v / lagMax) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (memMax * i) / 5;
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 8}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>`);
    out.push(`<text x="${W - M.right + 8}" y="${yLag((lagMax * i) / 5) + 4}" fill="#d62728">${Math.round((lagMax * i) / 5)}</text>`);
  }
  const minutes = tMax / 60;
  const step = minutes > 20 ? 5 : minutes > 5 ? 1 : 0.5;
  for (let m = 0; m <= minutes + 1e-9; m += step) {
    out.push(`<text x="${x(m * 60)}" y="${M.top + plotH + 18}" text-anchor="middle">${m}</text>`);
  }
  // Thirds: the flatness check compares the first and the last.
  for (const f of [1 / 3, 2 / 3])
    out.push(`<line x1="${x(tMax * f)}" x2="${x(tMax * f)}" y1="${M.top}" y2="${M.top + plotH}" stroke="#999" stroke-dasharray="3 3"/>`);
  out.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${M.left + plotW / 2}" y="${H - 16}" text-anchor="middle">minutes</text>`);
  out.push(`<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">MiB</text>`);
  out.push(`<text transform="translate(${W - 14} ${M.top + plotH / 2}) rotate(90)" text-anchor="middle" fill="#d62728">event-loop delay p99 (ms)</text>`);
  const line = (pick: (s: Sample) => number, scale: (v: number) => number, color: string, dash = '') =>
    `<path d="${samples.map((s, i) => `${i === 0 ? 'M' : 'L'}${x(s.t).toFixed(1)},${scale(pick(s)).toFixed(1)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`;
  for (const m of MEMORY) out.push(line((s) => s[m.key], y, m.color));
  out.push(line((s) => s.loopP99Ms, yLag, '#d62728', '4 3'));
  const legend = [...MEMORY, { label: 'event-loop delay p99 (right axis)', color: '#d62728' }];
  legend.forEach((l, i) => {
    const lx = M.left + 10 + i * 170;
    out.push(`<line x1="${lx}" x2="${lx + 20}" y1="${M.top - 12}" y2="${M.top - 12}" stroke="${l.color}" stroke-width="2"/>`);
    out.push(`<text x="${lx + 24}" y="${M.top - 8}">${esc(l.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
