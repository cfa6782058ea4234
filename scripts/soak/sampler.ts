import type { Redis } from 'ioredis';
import type { TestDatabase } from '../../test/helpers/pg-database.js';

/** One reading of the server process and the stores, every SAMPLE_MS during the soak. */
export interface Sample {
  /** Seconds since the agents started. */
  t: number;
  rssMiB: number;
  heapMiB: number;
  loopP99Ms: number;
  redisMiB: number;
  pgRows: number;
  lagRevisions: number;
  lagSeconds: number;
  connections: number;
}

export const SAMPLE_MS = 10_000;

/** The value of one sample line of Prometheus text, e.g. `nodejs_heap_size_used_bytes` or `x{stat="y"}`. */
function metric(text: string, name: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  }
  return Number.NaN;
}

export async function takeSample(t: number, httpUrl: string, redis: Redis, db: TestDatabase): Promise<Sample> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const info = await redis.info('memory');
  const usedMemory = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
  const [rows] = await db.query<{ n: string }>('SELECT count(*) n FROM events');
  return {
    t,
    rssMiB: metric(text, 'process_resident_memory_bytes') / 2 ** 20,
    heapMiB: metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
    loopP99Ms: metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1_000,
    redisMiB: usedMemory / 2 ** 20,
    pgRows: Number(rows?.n ?? 0),
    lagRevisions: metric(text, 'blackboard_history_persister{stat="lagRevisions"}'),
    lagSeconds: metric(text, 'blackboard_history_persister{stat="lagSeconds"}'),
    connections: metric(text, 'blackboard_connections'),
  };
}

/** Mean of a field over the samples in [from, to) of the run's length. */
export function meanOver(samples: Sample[], field: keyof Sample, from: number, to: number): number {
  const picked = samples.slice(Math.floor(samples.length * from), Math.ceil(samples.length * to)).map((s) => s[field]);
  return picked.reduce((a, b) => a + b, 0) / Math.max(1, picked.length);
}
