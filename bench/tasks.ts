/**
 * Task figures: tasks per second end to end (enqueue over WebSocket → pushed to a
 * remote worker over WebSocket → checkpoints → complete), with 0 and 10 checkpoints per
 * task, beside a raw BullMQ Worker doing the same on the same Redis in the same run
 * (its checkpoints are `job.updateData`, which checks no lock), and the Redis commands a
 * task costs each side (counted with MONITOR, untimed). Both sides are warmed up first, then
 * take timed turns in alternation.
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
import { inTurns, round, runConcurrent, type Figure } from './stats.js';

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

/** One turn of `total` tasks: its wall time, and the CPU time of the process that did the work. */
export interface Turn {
  tasks: number;
  seconds: number;
  cpuMs: number;
}

/**
 * A turn through the server: the producer and the worker are separate connections. Connecting
 * and registering the worker are not timed: the clock runs from the first enqueue to the last
 * completion, and the CPU time is the server's (`serverPid`) over that time.
 */
export async function throughServer(url: string, total: number, checkpoints: number, serverPid?: number): Promise<Turn> {
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
  await worker.request('task.work', { board, queue: 'q', concurrency: CONCURRENCY }, (r) => {
    workerId = (r as { worker: string }).worker;
  });
  const cpuBefore = serverPid ? processCpuMs(serverPid) : 0;
  const started = performance.now();
  await runConcurrent(total, ENQUEUE_IN_FLIGHT, (i) => admitted(() => producer.enqueue(board, 'q', { i }, { taskId: `t${i}` })));
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const cpuMs = serverPid ? processCpuMs(serverPid) - cpuBefore : 0;
  producer.close();
  worker.close();
  return { tasks: total, seconds, cpuMs };
}

/**
 * The same work with BullMQ alone: a Queue producer and a Worker with the same concurrency, in
 * this process. The Worker is ready before the clock starts; the CPU time is this process's.
 */
async function rawBullmq(redisUrl: string, total: number, checkpoints: number): Promise<Turn> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const prefix = `bbq:{bench-raw-${tag()}}`;
  const queue = new Queue('q', { connection, prefix });
  let done = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
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
  await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await runConcurrent(total, ENQUEUE_IN_FLIGHT, (i) => queue.add('t', { i }, { jobId: `t${i}` }));
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return { tasks: total, seconds, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Tasks per second and CPU µs per task over a side's turns. */
function summed(turns: Turn[]): { rate: number; cpuUsPerTask: number } {
  const tasks = turns.reduce((n, t) => n + t.tasks, 0);
  const seconds = turns.reduce((n, t) => n + t.seconds, 0);
  const cpuMs = turns.reduce((n, t) => n + t.cpuMs, 0);
  return { rate: tasks / seconds, cpuUsPerTask: (cpuMs * 1000) / tasks };
}

/**
 * Each side first runs a turn that is not timed (connections, and the JIT on both sides: the
 * checkpoint path is new to the server when the section starts), then the two take TURNS timed
 * turns each, in alternation.
 */
const TURNS = 2;

export async function benchTasks(options: TaskBenchOptions): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const [checkpoints, total] of [
    [0, Math.round(2_000 * options.scale)],
    [10, Math.round(500 * options.scale)],
  ] as const) {
    const warmUp = Math.max(1, Math.round(total / 4));
    await rawBullmq(options.redisUrl, warmUp, checkpoints);
    await throughServer(options.url, warmUp, checkpoints, options.serverPid);
    const turns = await inTurns(
      TURNS,
      () => throughServer(options.url, total, checkpoints, options.serverPid),
      () => rawBullmq(options.redisUrl, total, checkpoints),
    );
    const ours = summed(turns.measured);
    const raw = summed(turns.baseline);
    const label = `${checkpoints} checkpoints each (${TURNS} turns of ${total} tasks, worker concurrency ${CONCURRENCY})`;
    if (options.serverPid) {
      // CPU time holds where rates swing with other work on the machine.
      figures.push({
        name: `server CPU per task, ${checkpoints} checkpoints each`,
        value: round(ours.cpuUsPerTask, 0),
        unit: 'µs',
        baseline: round(raw.cpuUsPerTask, 0),
        baselineName: 'raw BullMQ Queue and Worker, their process',
        ratio: round(raw.cpuUsPerTask / Math.max(ours.cpuUsPerTask, 1e-9), 3),
      });
    }
    figures.push({
      name: `tasks end to end, ${label}`,
      value: round(ours.rate, 0),
      unit: 'tasks/s',
      baseline: round(raw.rate, 0),
      baselineName: 'raw BullMQ Worker in-process, updateData as checkpoint',
      ratio: round(ours.rate / raw.rate, 3),
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
