import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import type { BlackboardClient } from '../../client/sdk/index.js';
import { testDatabase } from '../../test/helpers/pg-database.js';
import { freePort, spawnServer } from '../../test/helpers/process-server.js';
import { startRedisProcess } from '../../test/helpers/redis-process.js';
import * as agents from './agents.js';
import { soakChart } from './chart.js';
import { writeReport, type Check } from './report.js';
import { SAMPLE_MS, meanOver, takeSample, type Sample } from './sampler.js';

/**
 * `npm run soak`: one server process on a private Redis and a database of its own, a
 * realistic agent mix through the SDK for SOAK_MINUTES (default 30), the process and the
 * stores sampled every 10 s, then the end checks. Writes docs/soak.md and docs/soak.svg;
 * exits 1 when a check fails.
 */

const minutes = Number(process.env.SOAK_MINUTES ?? 30);
const WARM_UP_S = 60;
const FLAT_WITHIN = 0.1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (line: string) => process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function waitUntil(what: string, timeoutMs: number, done: () => Promise<boolean> | boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) {
      say(`gave up waiting for ${what}`);
      return false;
    }
    await sleep(250);
  }
  return true;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const redisProcess = await startRedisProcess();
  const db = testDatabase('bbsoak');
  const admin = new Redis(redisProcess.url, { maxRetriesPerRequest: 1 });
  const port = await freePort();
  const server = await spawnServer(port, { REDIS_URL: redisProcess.url, DATABASE_URL: db.url, LOG_LEVEL: 'error' });
  const httpUrl = `http://127.0.0.1:${port}`;
  let running = true;
  const ledger = agents.newLedger();
  const ctx: agents.AgentContext = { wsUrl: `ws://127.0.0.1:${port}/v1/ws`, board: 'soak-main', ledger, running: () => running };
  const clients: BlackboardClient[] = [];
  const connect = async (agent: string) => {
    const c = await agents.connectAgent(ctx, agent);
    clients.push(c);
    return c;
  };
  const samples: Sample[] = [];
  try {
    say(`${minutes} min on ${httpUrl}, Redis ${redisProcess.url}, database ${db.name}`);
    const watchers = await Promise.all([1, 2, 3].map(async (i) => agents.watcher(ctx, await connect(`watcher-${i}`))));
    const stopWorkers = await Promise.all([1, 2].map(async (i) => agents.taskWorker(ctx, await connect(`worker-${i}`))));
    // The loops run until `running` turns false: started, not awaited, here.
    const loops: Array<Promise<void>> = [];
    for (const i of [1, 2, 3]) loops.push(agents.casWriter(ctx, await connect(`cas-${i}`), i));
    loops.push(agents.durableWriter(ctx, await connect('durable')));
    for (const i of [1, 2]) loops.push(agents.lockHolder(ctx, await connect(`locker-${i}`), i));
    loops.push(agents.taskProducer(ctx, await connect('producer')));
    loops.push(agents.dashboard(ctx, await connect('dashboard'), httpUrl));
    const t0 = Date.now();
    const endAt = t0 + minutes * 60_000;
    while (Date.now() < endAt) {
      await sleep(Math.min(SAMPLE_MS - ((Date.now() - t0) % SAMPLE_MS), endAt - Date.now()));
      const s = await takeSample(Math.round((Date.now() - t0) / 1_000), httpUrl, admin, db);
      samples.push(s);
      if (samples.length % 6 === 0)
        say(`t=${s.t}s rss ${s.rssMiB.toFixed(1)} heap ${s.heapMiB.toFixed(1)} redis ${s.redisMiB.toFixed(1)} MiB, rows ${s.pgRows}, lag ${s.lagRevisions}`);
    }
    running = false;
    say('load stopped; end checks');
    await Promise.all(loops);
    const checker = await connect('checker');
    const checks: Check[] = [];

    // Every task done, once.
    const tasksDone = await waitUntil('every task completed', 120_000, async () => {
      const states = await Promise.all(ledger.enqueued.map(async (id) => (await checker.task(ctx.board, id)).state));
      return states.every((s) => s === 'completed');
    });
    const twice = ledger.enqueued.filter((id) => (ledger.finished.get(id) ?? 0) !== 1);
    checks.push({
      name: 'every task done once',
      pass: tasksDone && twice.length === 0 && ledger.enqueued.length > 0,
      detail: `${ledger.enqueued.length} tasks enqueued, all completed: ${tasksDone}; handlers run to the end other than once: ${twice.length}${twice.length ? ` (${twice.slice(0, 5).join(', ')})` : ''}; ${ledger.checkpoints} checkpoints`,
    });
    for (const stop of stopWorkers) await stop();

    // Every acknowledged write in Postgres.
    const rev = (await checker.boards(ctx.board)).boards.find((b) => b.board === ctx.board)?.rev ?? 0;
    await waitUntil('the persister to reach the last revision', 120_000, async () => {
      const [row] = await db.query<{ persisted_rev: string }>('SELECT persisted_rev FROM boards WHERE name = $1', [ctx.board]);
      return Number(row?.persisted_rev ?? 0) >= rev;
    });
    const stored = new Set(
      (await db.query<{ rev: string; key: string }>('SELECT rev, key FROM events WHERE board = $1', [ctx.board])).map((r) => `${r.rev} ${r.key}`),
    );
    const missing = [...ledger.acked].filter((a) => !stored.has(a));
    checks.push({
      name: 'every acknowledged write in Postgres',
      pass: missing.length === 0 && ledger.acked.size > 0,
      detail: `${ledger.acked.size} acknowledged writes (${ledger.ackedDurable} durable), board at revision ${rev}, ${stored.size} events in Postgres; missing: ${missing.length}${missing.length ? ` (${missing.slice(0, 5).join(', ')})` : ''}`,
    });

    // Counters: no lost update among CAS writers, none among fenced lock holders.
    const casLost: string[] = [];
    for (const [key, commits] of ledger.casCommits) {
      const value = (await checker.value<number>(ctx.board, key)) ?? 0;
      if (value !== commits) casLost.push(`${key} ${value} ≠ ${commits}`);
    }
    const locked = (await checker.value<number>(ctx.board, 'locked/count')) ?? 0;
    checks.push({
      name: 'no lost update (CAS counters, fenced lock writes)',
      pass: casLost.length === 0 && locked === ledger.lockedWrites,
      detail: `${[...ledger.casCommits.values()].reduce((a, b) => a + b, 0)} CAS commits over ${ledger.casCommits.size} counters${casLost.length ? ` (wrong: ${casLost.join('; ')})` : ''}; locked counter ${locked} after ${ledger.lockedWrites} fenced writes in ${ledger.lockAcquisitions} acquisitions`,
    });

    // No watcher gap: versions followed one another, and each replica ends equal to the board.
    await waitUntil('the watchers to catch up', 60_000, () => watchers.every((w) => w.rev() >= rev));
    const board = new Map<string, { value: unknown; version: number }>();
    for (let after: string | undefined; ; ) {
      const page = await checker.list(ctx.board, '', { limit: 500, ...(after ? { after } : {}) });
      for (const item of page.items) if (!item.key.startsWith('$')) board.set(item.key, { value: item.value, version: item.version });
      if (!page.more || page.items.length === 0) break;
      after = page.items.at(-1)!.key;
    }
    const differing = watchers.filter((w) => JSON.stringify([...w.replica()].sort()) !== JSON.stringify([...board].sort())).length;
    checks.push({
      name: 'no watcher gap',
      pass: ledger.watcherGaps.length === 0 && differing === 0 && ledger.watcherReconnects > 0,
      detail: `${watchers.length} watchers, ${ledger.watcherReconnects} forced reconnects, ${ledger.watcherEvents} events applied; gaps or repeats: ${ledger.watcherGaps.length}${ledger.watcherGaps.length ? ` (${ledger.watcherGaps.slice(0, 3).join('; ')})` : ''}; replicas unequal to the board (${board.size} keys): ${differing}`,
    });
    for (const w of watchers) w.stop();

    // Memory flat: the last third against the first, after the warm-up.
    const steady = samples.filter((s) => s.t >= Math.min(WARM_UP_S, (minutes * 60) / 6));
    for (const [field, label] of [
      ['heapMiB', 'heap'],
      ['rssMiB', 'RSS'],
    ] as const) {
      const first = meanOver(steady, field, 0, 1 / 3);
      const last = meanOver(steady, field, 2 / 3, 1);
      const change = (last - first) / first;
      checks.push({
        name: `${label} flat`,
        pass: Math.abs(change) <= FLAT_WITHIN,
        detail: `mean ${first.toFixed(1)} MiB in the first third, ${last.toFixed(1)} MiB in the last (${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%; bound ±${FLAT_WITHIN * 100}%)`,
      });
    }

    writeFileSync('docs/soak.svg', soakChart(samples, `Soak: ${minutes} minutes, one node, agent mix through the SDK`));
    writeReport('docs/soak.md', { minutes, startedAt, samples, checks, ledger, warmUpS: Math.min(WARM_UP_S, (minutes * 60) / 6), load: loadavg()[0]! });
    for (const c of checks) say(`${c.pass ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
    if (ledger.errors.size) say(`errors seen by agents: ${[...ledger.errors].map(([k, n]) => `${k} ×${n}`).join('; ')}`);
    process.exitCode = checks.every((c) => c.pass) ? 0 : 1;
  } finally {
    running = false;
    for (const c of clients) c.close();
    server.child.kill('SIGTERM');
    await server.exited;
    admin.disconnect();
    await db.drop().catch(() => undefined);
    await redisProcess.stop();
  }
}

main().then(
  () => process.exit(),
  (err: unknown) => {
    process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
