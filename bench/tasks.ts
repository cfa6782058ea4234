/**
 * Task figures: tasks per second end to end (enqueue over WebSocket → pushed to a
 * remote worker over WebSocket → checkpoints → complete), with 0 and 10 checkpoints per
 * task, beside a raw BullMQ Worker doing the same on the same Redis in the same run
 * (its checkpoints are `job.updateData`, which checks no lock), and the Redis commands a
 * task costs each side (counted with MONITOR, untimed).
 * Alone: `npx tsx bench/tasks.ts` (starts its own server; BENCH_SCALE scales the work).
 */
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { BlackboardClient } from '../client/sdk/index.js';
import type { TaskPush } from '../shared/protocol/types.js';
import { freePort, spawnServer } from '../test/helpers/process-server.js';
import { admitted } from './context.js';
import { processCpuMs } from './machine.js';
import { countRedisCalls } from './redis-calls.js';
import { round, runConcurrent, type Figure } from './stats.js';

export interface TaskBenchOptions {
  /** A running server, `http://host:port`. */
  url: string;
  /** The Redis that server uses: the raw baseline runs on it too. */
  redisUrl: string;
  scale: number;
  /** The server process, to read the CPU time a task costs it. */
  serverPid?: number;
}

const CONCURRENCY = 16;
const ENQUEUE_IN_FLIGHT = 64;
const tag = () => randomBytes(6).toString('hex');

function client(url: string, agent: string): BlackboardClient {
  return new BlackboardClient({ url, agent, WebSocket, requestTimeoutMs: 60_000 });
}

/** Tasks/s through the server: the producer and the worker are separate connections. */
async function throughServer(url: string, total: number, checkpoints: number): Promise<number> {
  const board = `bench-tasks-${tag()}`;
  const producer = client(url, 'bench-producer');
  const worker = client(url, 'bench-worker');
  await Promise.all([producer.connect(), worker.connect()]);
  let done = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let workerId = '';
  worker.on('push', (message) => {
    const push = message as TaskPush;
    if (push.push !== 'task' || push.worker !== workerId) return;
    const ids = { board, taskId: push.task.taskId, token: push.task.token };
    void (async () => {
      for (let i = 1; i <= checkpoints; i++) await admitted(() => worker.request('task.checkpoint', { ...ids, checkpoint: { step: i } }));
      await admitted(() => worker.request('task.complete', { ...ids, result: { ok: true } }));
      if (++done === total) finish();
    })();
  });
  const started = performance.now();
  await worker.request('task.work', { board, queue: 'q', concurrency: CONCURRENCY }, (r) => {
    workerId = (r as { worker: string }).worker;
  });
  await runConcurrent(total, ENQUEUE_IN_FLIGHT, (i) => admitted(() => producer.enqueue(board, 'q', { i }, { taskId: `t${i}` })));
  await finished;
  const seconds = (performance.now() - started) / 1000;
  producer.close();
  worker.close();
  return total / seconds;
}

/** The same work with BullMQ alone: a Queue producer and a Worker with the same concurrency. */
async function rawBullmq(redisUrl: string, total: number, checkpoints: number): Promise<number> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const prefix = `bbq:{bench-raw-${tag()}}`;
  const queue = new Queue('q', { connection, prefix });
  let done = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const started = performance.now();
  const worker = new Worker(
    'q',
    async (job) => {
      for (let i = 1; i <= checkpoints; i++) await job.updateData({ ...(job.data as object), step: i });
      return { ok: true };
    },
    { connection, prefix, concurrency: CONCURRENCY },
  );
  worker.on('completed', () => {
    if (++done === total) finish();
  });
  await runConcurrent(total, ENQUEUE_IN_FLIGHT, (i) => queue.add('t', { i }, { jobId: `t${i}` }));
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return total / seconds;
}

export async function benchTasks(options: TaskBenchOptions): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const [checkpoints, total] of [
    [0, Math.round(2_000 * options.scale)],
    [10, Math.round(500 * options.scale)],
  ] as const) {
    const rawCpu = process.cpuUsage();
    const raw = await rawBullmq(options.redisUrl, total, checkpoints);
    const rawCpuUsed = process.cpuUsage(rawCpu);
    const serverCpu = options.serverPid ? processCpuMs(options.serverPid) : 0;
    const ours = await throughServer(options.url, total, checkpoints);
    if (options.serverPid) {
      // CPU time holds where rates swing with other work on the machine.
      const rawMs = (rawCpuUsed.user + rawCpuUsed.system) / 1000;
      const oursMs = processCpuMs(options.serverPid) - serverCpu;
      figures.push({
        name: `server CPU per task, ${checkpoints} checkpoints each`,
        value: round((oursMs * 1000) / total, 0),
        unit: 'µs',
        baseline: round((rawMs * 1000) / total, 0),
        baselineName: 'raw BullMQ Queue and Worker, their process',
        ratio: round(rawMs / Math.max(oursMs, 1e-9), 3),
      });
    }
    figures.push({
      name: `tasks end to end, ${checkpoints} checkpoints each (${total} tasks, worker concurrency ${CONCURRENCY})`,
      value: round(ours, 0),
      unit: 'tasks/s',
      baseline: round(raw, 0),
      baselineName: 'raw BullMQ Worker in-process, updateData as checkpoint',
      ratio: round(ours / raw, 3),
    });
  }
  // What a task costs Redis: commands sent (however pipelined) per task, enqueue to completion.
  const counted = 400;
  for (const checkpoints of [0, 1]) {
    const rawCalls = await countRedisCalls(options.redisUrl, () => rawBullmq(options.redisUrl, counted, checkpoints));
    const oursCalls = await countRedisCalls(options.redisUrl, () => throughServer(options.url, counted, checkpoints));
    const per = (n: number) => round(n / counted, 2);
    figures.push({
      name: `Redis commands per task, ${checkpoints} checkpoints (the server, all its work)`,
      value: per(oursCalls.calls),
      unit: 'commands',
      baseline: per(rawCalls.calls),
      baselineName: 'raw BullMQ Worker, same work',
      ratio: round(rawCalls.calls / oursCalls.calls, 3),
    });
    process.stderr.write(
      `bench: task Redis commands (${checkpoints} checkpoints): ours ${JSON.stringify(oursCalls.byName.slice(0, 12).map(([n, c]) => [n, per(c)]))}; raw ${JSON.stringify(rawCalls.byName.slice(0, 12).map(([n, c]) => [n, per(c)]))}\n`,
    );
  }
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const port = await freePort();
  const server = await spawnServer(port, { LOG_LEVEL: 'error' });
  try {
    const figures = await benchTasks({
      url: `http://127.0.0.1:${port}`,
      redisUrl,
      scale: Number(process.env.BENCH_SCALE ?? 1),
      ...(server.child.pid ? { serverPid: server.child.pid } : {}),
    });
    for (const f of figures) {
      process.stdout.write(`${f.name}: ${f.value} ${f.unit} (baseline ${f.baseline} ${f.unit}: ${f.baselineName}; ratio ${f.ratio})\n`);
    }
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  process.exit(0);
}
