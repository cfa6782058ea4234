/**
 * Where a task's time goes: tasks through the server with 10 checkpoints each (as the Tasks
 * section runs them), in rounds after a warm-up, with the CPU time each process spent per task
 * read from /proc: the server, Redis (its own pid, from INFO), every Postgres process, and this
 * process (the producer's and the worker's SDK clients). Once with history on and once off, so
 * what writing history costs shows beside the rest. Alone: `npx tsx bench/task-costs.ts`
 * (ROUNDS, TASKS and CHECKPOINTS change the work). Not part of `npm run bench`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { testDatabase } from '../test/helpers/pg-database.js';
import { freePort, spawnServer, stopServer } from '../test/helpers/process-server.js';
import { startRedisProcess } from '../test/helpers/redis-process.js';
import { benchServerEnv } from './context.js';
import { cpuMark, processCpuMs } from './machine.js';
import { percentile } from './stats.js';
import { throughServer } from './tasks.js';

const rounds = Number(process.env.ROUNDS ?? 5);
const tasks = Number(process.env.TASKS ?? 500);
const checkpoints = Number(process.env.CHECKPOINTS ?? 10);

/** The pids of every process named `postgres` on the machine. */
function postgresPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
      } catch {
        return false;
      }
    })
    .map(Number);
}

const sumCpu = (pids: number[]) => pids.reduce((ms, pid) => ms + processCpuMs(pid), 0);

async function measure(redisUrl: string, history: boolean): Promise<void> {
  const db = testDatabase('bbcosts');
  const port = await freePort();
  const server = await spawnServer(port, benchServerEnv(redisUrl, history ? db.url : undefined));
  const admin = new Redis(redisUrl);
  try {
    const redisPid = Number(/process_id:(\d+)/.exec(await admin.info('server'))?.[1]);
    const url = `http://127.0.0.1:${port}`;
    const serverPid = server.child.pid ?? 0;
    await throughServer(url, Math.max(1, Math.round(tasks / 2)), checkpoints);
    const rows: Record<'rate' | 'server' | 'redis' | 'postgres' | 'clients' | 'busy', number[]> = {
      rate: [],
      server: [],
      redis: [],
      postgres: [],
      clients: [],
      busy: [],
    };
    for (let round = 0; round < rounds; round++) {
      const pg = postgresPids();
      const mark = cpuMark();
      const before = { server: processCpuMs(serverPid), redis: processCpuMs(redisPid), postgres: sumCpu(pg), clients: process.cpuUsage() };
      const turn = await throughServer(url, tasks, checkpoints);
      const clients = process.cpuUsage(before.clients);
      const end = cpuMark();
      rows.busy.push((100 * (end.machineBusy - mark.machineBusy)) / Math.max(1, end.machineTotal - mark.machineTotal));
      const perTask = (ms: number) => (ms * 1000) / tasks;
      rows.rate.push(tasks / turn.seconds);
      rows.server.push(perTask(processCpuMs(serverPid) - before.server));
      rows.redis.push(perTask(processCpuMs(redisPid) - before.redis));
      rows.postgres.push(perTask(sumCpu(pg) - before.postgres));
      rows.clients.push(perTask((clients.user + clients.system) / 1000));
    }
    const fmt = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return `${Math.round(percentile(sorted, 50))} (${Math.round(sorted[0] ?? 0)}-${Math.round(sorted[sorted.length - 1] ?? 0)})`;
    };
    process.stdout.write(
      `history ${history ? 'on ' : 'off'}: ${fmt(rows.rate)} tasks/s; CPU µs per task: server ${fmt(rows.server)}, Redis ${fmt(rows.redis)}, ` +
        `Postgres ${fmt(rows.postgres)}, clients ${fmt(rows.clients)}; machine busy ${fmt(rows.busy)}% (median of ${rounds} rounds of ${tasks} tasks, ${checkpoints} checkpoints each; range)\n`,
    );
  } finally {
    admin.disconnect();
    await stopServer(server);
    await db.drop();
  }
}

const redis = await startRedisProcess();
try {
  for (const history of [true, false]) await measure(redis.url, history);
} finally {
  await redis.stop();
}
process.exit(0);
