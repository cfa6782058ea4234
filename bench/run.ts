/**
 * `npm run bench`: the benchmark report. Starts a private Redis (or uses BENCH_REDIS_URL),
 * a database of its own and the server as a child process, runs each section beside a raw
 * baseline from the same run, prints the tables to stdout (progress to stderr) and writes
 * docs/benchmarks.md and docs/benchmark-latency.svg. BENCH_SCALE (default 1) scales the
 * work; BENCH_QUICK=1 runs a reduced version in about a minute.
 */
import { Redis } from 'ioredis';
import { freePort, spawnServer, type ServerProcess } from '../test/helpers/process-server.js';
import { testDatabase } from '../test/helpers/pg-database.js';
import { startRedisProcess, type RedisProcess } from '../test/helpers/redis-process.js';
import { adoptNewBoards, knownBoards, removeBenchBoards } from './boards.js';
import { benchServerEnv, rawStore, refusals, type BenchContext } from './context.js';
import { makePlan } from './plan.js';
import { cpuMark, otherShare } from './machine.js';
import { writeReport, type Section } from './report.js';
import { sectionSpecs } from './sections.js';

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

function message(err: unknown): string {
  return ((err as Error).message ?? String(err)).split('\n')[0]!.slice(0, 300);
}

/** Runs every section in turn; a section that fails leaves a note, not a hole in the run. */
async function runSections(ctx: BenchContext, admin: Redis): Promise<Section[]> {
  const sections: Section[] = [];
  const only = ctx.plan.only;
  const specs = sectionSpecs().filter((spec) => !only || only.some((prefix) => spec.title.toLowerCase().startsWith(prefix)));
  for (const spec of specs) {
    const t0 = performance.now();
    log(`${spec.title}…`);
    const before = spec.external ? await knownBoards(admin) : null;
    const refusedBefore = refusals.count;
    try {
      const out = await spec.run(ctx);
      const section: Section = Array.isArray(out) ? { title: spec.title, figures: out, ...(spec.note ? { note: spec.note } : {}) } : out;
      const refused = refusals.count - refusedBefore;
      if (refused > 0) {
        const line = `${refused} writes were refused with RATE_LIMITED by write admission (the server's event loop lagged past ADMISSION_LAG_MS, or its fan-out backlog passed ADMISSION_BACKLOG_MS) and sent again after \`retryAfterMs\`; the figures include those waits.`;
        section.note = section.note ? `${section.note} ${line}` : line;
      }
      sections.push(section);
      log(`${spec.title}: done in ${Math.round((performance.now() - t0) / 1000)} s`);
    } catch (err) {
      log(`${spec.title} failed: ${(err as Error).stack ?? String(err)}`);
      sections.push({ title: spec.title, figures: [], note: `Not measured: this section failed in this run (${message(err)}).` });
    } finally {
      if (before) await adoptNewBoards(admin, before).catch(() => undefined);
    }
  }
  return sections;
}

async function main(): Promise<void> {
  const plan = makePlan();
  const started = performance.now();
  const startMark = cpuMark();
  log(`${plan.quick ? 'quick run' : 'full run'}, scale ${plan.scale}, load average ${startMark.load.toFixed(1)}`);

  const givenRedis = process.env.BENCH_REDIS_URL;
  const db = testDatabase('bbbench');
  let privateRedis: RedisProcess | null = null;
  let server: ServerProcess | null = null;
  let admin: Redis | null = null;
  let raw: Awaited<ReturnType<typeof rawStore>> | null = null;
  let sections: Section[] = [];
  try {
    privateRedis = givenRedis ? null : await startRedisProcess();
    const redisUrl = givenRedis ?? privateRedis!.url;
    admin = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    const serverEnv = { ...benchServerEnv(redisUrl, db.url), MAX_OUTBOUND_BYTES: String(64 * 1024 * 1024) };
    const port = await freePort();
    server = await spawnServer(port, serverEnv);
    raw = await rawStore(redisUrl);
    const ctx: BenchContext = {
      url: `http://127.0.0.1:${port}`,
      redisUrl,
      plan,
      redis: raw.redis,
      store: raw.store,
      serverEnv,
      ...(server.child.pid ? { serverPid: server.child.pid } : {}),
    };
    sections = await runSections(ctx, admin);
  } finally {
    // The server goes first: its persister and sweepers would write to the boards again.
    if (server) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    raw?.redis.disconnect();
    if (admin) {
      const removed = await removeBenchBoards(admin).catch((err: unknown) => {
        log(`removing the benchmark's boards failed: ${message(err)}`);
        return 0;
      });
      log(`removed ${removed} Redis keys of the benchmark's boards`);
      admin.disconnect();
    }
    await db.drop().catch((err: unknown) => log(`dropping database ${db.name} failed: ${message(err)}`));
    await privateRedis?.stop();
  }
  const endMark = cpuMark();
  const sweepRan = sections.some((s) => s.title.startsWith('Latency') && s.figures.length > 0);
  const text = writeReport(plan.only ? null : 'docs/benchmarks.md', sections, {
    seconds: (performance.now() - started) / 1000,
    quick: plan.quick,
    scale: plan.scale,
    loadAtStart: startMark.load,
    loadAtEnd: endMark.load,
    otherCpuShare: otherShare(startMark, endMark),
    redis: givenRedis ? 'the one at BENCH_REDIS_URL' : 'a private redis-server',
    sweep: sweepRan ? plan.sweep : null,
  });
  process.stdout.write(`${text}\n`);
  log(`${plan.only ? 'BENCH_ONLY: report not written; done' : 'wrote docs/benchmarks.md'} in ${Math.round((performance.now() - started) / 1000)} s`);
}

// A stray rejection from a socket closed while a section gave up must not end the run
// without its clean-up (the server, Redis and database it started).
process.on('unhandledRejection', (err) => log(`unhandled rejection: ${message(err)}`));

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
