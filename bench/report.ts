import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Figure } from './stats.js';

export interface Section {
  title: string;
  figures: Figure[];
  note?: string;
}

function row(f: Figure): string {
  const base = f.baseline === undefined ? '' : `${f.baseline} ${f.unit}`;
  const ratio = f.ratio === undefined ? '' : `${f.ratio}`;
  return `| ${f.name} | ${f.value} ${f.unit} | ${base} | ${f.baselineName ?? ''} | ${ratio} | ${f.goal ?? ''} |`;
}

export function renderReport(sections: Section[], seconds: number): string {
  const lines = [
    '# Benchmarks',
    '',
    `Produced by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}; the whole run took ${Math.round(seconds)} s.`,
    'Every figure stands beside a baseline measured in the same run on the same machine; the ratio is',
    'figure ÷ baseline for rates and baseline ÷ figure for latencies, so above 1 is better than the baseline.',
    'The server runs as its own process; the load generators share the machine with it.',
    '',
  ];
  for (const section of sections) {
    lines.push(`## ${section.title}`, '');
    if (section.note) lines.push(section.note, '');
    lines.push('| measure | value | baseline | baseline is | ratio | goal |', '|---|---|---|---|---|---|');
    for (const f of section.figures) lines.push(row(f));
    lines.push('');
  }
  return lines.join('\n');
}

export function writeReport(path: string, sections: Section[], seconds: number): string {
  const text = renderReport(sections, seconds);
  writeFileSync(path, text);
  return text;
}
