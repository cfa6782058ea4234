/**
 * `npm run bench`: the benchmark report. Starts the server as a child process, measures
 * each figure beside a raw baseline from the same run, prints the table and writes
 * docs/benchmarks.md. BENCH_SCALE (default 1) scales the amount of work.
 */
import { benchPut } from './kv.js';
import { benchFanout } from './fanout.js';
import { writeReport, type Section } from './report.js';
import { freePort, spawnServer } from '../test/helpers/process-server.js';

const scale = Number(process.env.BENCH_SCALE ?? 1);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function main(): Promise<void> {
  const started = performance.now();
  const port = await freePort();
  const server = await spawnServer(port, { LOG_LEVEL: 'error', MAX_OUTBOUND_BYTES: String(64 * 1024 * 1024) });
  const url = `http://127.0.0.1:${port}`;
  const sections: Section[] = [];
  const step = async (title: string, run: () => Promise<Section['figures']>, note?: string) => {
    process.stderr.write(`bench: ${title}…\n`);
    const figures = await run();
    sections.push(note ? { title, figures, note } : { title, figures });
  };
  try {
    await step('Writes', () => benchPut({ url, redisUrl, scale }));
    await step('Fan-out', async () => [
      ...(await benchFanout({ url, subscribers: 100, writes: Math.round(2_000 * scale) })),
      ...(await benchFanout({ url, subscribers: 1_000, writes: Math.round(500 * scale) })),
    ]);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  const text = writeReport('docs/benchmarks.md', sections, (performance.now() - started) / 1000);
  process.stdout.write(`${text}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
