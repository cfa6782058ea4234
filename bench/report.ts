import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Figure } from './stats.js';

export interface Section {
  title: string;
  figures: Figure[];
  /** A line under the title (what the section measures, or why it is missing). */
  note?: string;
  /** Markdown after the table (a second table, a chart). */
  extra?: string;
}

export interface RunInfo {
  seconds: number;
  quick: boolean;
  scale: number;
  /** Load averages when the run started and ended (other work on the machine lowers every figure). */
  loadAtStart: number;
  loadAtEnd: number;
  /** Share of the machine's CPU used by processes other than the benchmark's while it ran (null: unknown). */
  otherCpuShare: number | null;
  redis: string;
  /** The load sweep's shape, for the description (null: it did not run). */
  sweep: { subscribers: number; sampled: number; writers: number } | null;
}

function cell(value: number | undefined, unit: string): string {
  if (value === undefined) return '';
  return unit ? `${value} ${unit}` : String(value);
}

function row(f: Figure): string {
  const ratio = f.ratio === undefined ? '' : `${f.ratio}`;
  return `| ${f.name} | ${cell(f.value, f.unit)} | ${cell(f.baseline, f.unit)} | ${f.baselineName ?? ''} | ${ratio} | ${f.goal ?? ''} |`;
}

function howMeasured(info: RunInfo): string[] {
  const sweep = info.sweep ?? { subscribers: 1_000, sampled: 50, writers: 4 };
  return [
    '## How measured',
    '',
    '`npm run bench` (bench/run.ts) starts a private `redis-server` (no persistence) unless `BENCH_REDIS_URL`',
    'names one, creates a Postgres database of its own for history (dropped afterwards), and runs the server as',
    'its own process (`node server/main.ts`, default settings except `RATE_LIMIT_RPS=0` and `RATE_LIMIT_AGENT_RPS=0`,',
    'so that the request limits per connection and per agent (each connection is an agent) do not cap a single',
    'load-generating connection, and `MAX_OUTBOUND_BYTES=64 MiB`, so that',
    'subscribers sharing the CPU with the server are not closed as slow). Load comes from the benchmark process',
    'over real WebSockets on loopback. Each figure stands beside a baseline measured in the same run on the same',
    'machine: the same commit script called straight through ioredis (EVALSHA), the same compare-and-set loop on',
    'that script, XRANGE of the same stream, a bare `ws` server process broadcasting the same bytes or holding',
    'the same idle connections, plain Redlock, a raw BullMQ worker, or etcd through its gRPC client (`etcd3`). The ratio is figure ÷ baseline for',
    'rates and baseline ÷ figure for latencies and memory, so above 1 is better than the baseline. Latencies are',
    'client-side, from sending a request to its reply. The `put` figures come after both paths have warmed up, and',
    "the raw and server paths take turns in four rounds, so a drift in the machine's speed falls on both alike (on",
    'this virtual machine the same loop can run at rates 1.5× apart a minute later; single runs of one section',
    'vary that much, which is why the report is one whole run). The load sweep offers writes open loop (a timer issues them',
    `at the set rate whatever the replies do), from ${sweep.writers} connections, to a board with ${sweep.subscribers} subscribers: ${sweep.subscribers - sweep.sampled} in a child`,
    `process and ${sweep.sampled} in the timing process, whose event-delivery times (write sent → event received) share one`,
    'clock with the send times. The saturating rate is the most writes per second committed at any offered rate;',
    "the goal step then offers twice that. Memory per connection is the growth of the server process's RSS",
    '(`VmRSS` in /proc) from before to 2 s after opening the connections, divided by their number.',
    'BENCH_SCALE multiplies the amount of work; BENCH_QUICK=1 runs a reduced version (fewer connections,',
    'a tenth of the operations) only to check the script; BENCH_ONLY=<title prefixes> runs some sections and',
    'prints them without writing this file. The figures are never asserted by tests.',
  ];
}

export function renderReport(sections: Section[], info: RunInfo): string {
  const lines = [
    '# Benchmarks',
    '',
    `Produced by \`${info.quick ? 'BENCH_QUICK=1 ' : ''}npm run bench\`${info.scale !== 1 && !info.quick ? ` with BENCH_SCALE=${info.scale}` : ''} on ${new Date().toISOString().slice(0, 10)}, ` +
      `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, Redis: ${info.redis}; ` +
      `the whole run took ${Math.round(info.seconds)} s; load average at the start ${info.loadAtStart.toFixed(1)}, at the end ${info.loadAtEnd.toFixed(1)}` +
      (info.otherCpuShare === null ? '.' : `; other processes used ${Math.round(info.otherCpuShare * 100)}% of the machine's CPU meanwhile.`),
  ];
  if (info.quick) lines.push('', '**A reduced run (BENCH_QUICK=1): it checks the script; do not quote its figures.**');
  // The load average counts the benchmark's own processes; the CPU share of the others does not.
  const busy = info.loadAtStart >= 3 || (info.otherCpuShare ?? 0) >= 0.25;
  if (busy) {
    lines.push('', `**The machine was busy with other work during this run: absolute figures are low; produce final figures on a quiet machine.**`);
  }
  if (info.sweep) lines.push('', 'The latency against offered load is charted in [benchmark-latency.svg](benchmark-latency.svg).');
  lines.push('');
  for (const section of sections) {
    lines.push(`## ${section.title}`, '');
    if (section.note) lines.push(section.note, '');
    if (section.figures.length > 0) {
      lines.push('| measure | value | baseline | baseline is | ratio | goal |', '|---|---|---|---|---|---|');
      for (const f of section.figures) lines.push(row(f));
      lines.push('');
    }
    if (section.extra) lines.push(section.extra, '');
  }
  lines.push(...howMeasured(info), '');
  return lines.join('\n');
}

/** Renders the report and writes it to `path` (null: render only, for a partial run). */
export function writeReport(path: string | null, sections: Section[], info: RunInfo): string {
  const text = renderReport(sections, info);
  if (path) writeFileSync(path, text);
  return text;
}
