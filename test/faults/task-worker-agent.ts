/**
 * A worker process for the task fault tests. It prints one JSON line per thing it does
 * on stdout, so a test that kills, freezes or restarts it can check what happened.
 *
 *   --url ws://…  --board b  --queue q  [--mode subtasks|raw]  [--concurrency n]
 *   [--lease ms]  [--step-ms ms]  [--agent name]
 *
 * subtasks: each task's data is {n}; subtask i outputs "<taskId>:<i>", and a checkpoint
 *   {next, outputs} follows each one; the result is {outputs}.
 * raw: takes one task and checkpoints every step with the raw ops; once one is FENCED it
 *   also tries a heartbeat and a complete with the same token, prints the three codes
 *   and exits.
 */
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { BlackboardClient } from '../../client/sdk/client.js';
import type { SocketFactory } from '../../client/sdk/connection.js';
import { BlackboardError } from '../../shared/protocol/errors.js';
import type { TaskPush } from '../../shared/protocol/types.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    board: { type: 'string' },
    queue: { type: 'string', default: 'jobs' },
    mode: { type: 'string', default: 'subtasks' },
    concurrency: { type: 'string', default: '1' },
    lease: { type: 'string', default: '2000' },
    'step-ms': { type: 'string', default: '50' },
    agent: { type: 'string', default: `agent-${process.pid}` },
  },
});
const board = values.board!;
const queue = values.queue!;
const stepMs = Number(values['step-ms']);
const leaseMs = Number(values.lease);

function say(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ pid: process.pid, t: Date.now(), ...event })}\n`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const codeOf = (err: unknown) => (err instanceof BlackboardError ? err.code : String(err));

const client = new BlackboardClient({
  url: values.url!,
  agent: values.agent!,
  WebSocket: WebSocket as unknown as SocketFactory,
  reconnect: { baseMs: 50, capMs: 500 },
  requestTimeoutMs: 20_000,
});

interface Progress {
  next: number;
  outputs: string[];
}

async function subtasks(): Promise<void> {
  await client.work<{ n: number }, { outputs: string[] }, Progress>(
    board,
    queue,
    async (data, ctx) => {
      const state: Progress = ctx.checkpoint ?? { next: 0, outputs: [] };
      say({ event: 'start', taskId: ctx.taskId, attempt: ctx.attempt, from: state.next });
      for (let i = state.next; i < data.n; i++) {
        await sleep(stepMs);
        if (ctx.signal.aborted) throw ctx.signal.reason;
        const next = { next: i + 1, outputs: [...state.outputs, `${ctx.taskId}:${i}`] };
        await ctx.saveCheckpoint(next, Math.round(((i + 1) / data.n) * 100));
        Object.assign(state, next);
      }
      say({ event: 'finished', taskId: ctx.taskId, attempt: ctx.attempt });
      return { outputs: state.outputs };
    },
    {
      concurrency: Number(values.concurrency),
      leaseMs,
      onError: (err, taskId) => say({ event: 'error', taskId, code: codeOf(err) }),
    },
  );
  say({ event: 'ready' });
}

async function raw(): Promise<void> {
  await client.connect();
  let worker = '';
  const task = new Promise<TaskPush['task']>((resolve) => {
    client.on('push', (m) => {
      const push = m as TaskPush;
      if (push.push === 'task' && push.worker === worker) resolve(push.task);
    });
  });
  await client.request('task.work', { board, queue, leaseMs }, (r) => {
    worker = (r as { worker: string }).worker;
  });
  say({ event: 'ready' });
  const { taskId, token, attempt } = await task;
  say({ event: 'start', taskId, attempt });
  const ids = { board, taskId, token };
  for (let step = 1; ; step++) {
    // Heartbeats are the checkpoints themselves here: one every step.
    await sleep(stepMs);
    try {
      await client.request('task.checkpoint', { ...ids, checkpoint: { by: values.agent, step } });
      say({ event: 'checkpoint', taskId, step });
    } catch (err) {
      const checkpoint = codeOf(err);
      const heartbeat = await client.request('task.heartbeat', ids).then(() => 'ok', codeOf);
      const complete = await client.request('task.complete', { ...ids, result: { by: values.agent } }).then(() => 'ok', codeOf);
      say({ event: 'fenced', taskId, checkpoint, heartbeat, complete });
      client.close();
      process.exit(0);
    }
  }
}

process.on('SIGTERM', () => {
  client.close();
  process.exit(0);
});

(values.mode === 'raw' ? raw() : subtasks()).catch((err: unknown) => {
  say({ event: 'crash', error: String(err) });
  process.exit(1);
});
