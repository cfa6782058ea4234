import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEvent } from '../../shared/protocol/types.js';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { BlackboardClient } from '../../client/sdk/client.js';
import { randomBoard, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

/** Worker processes (test/faults/task-worker-agent.ts) that the tests kill, freeze and restart. */
type Line = Record<string, unknown> & { event: string; pid: number };

class Agent {
  readonly lines: Line[] = [];
  readonly exited: Promise<number | null>;
  private readonly proc: ChildProcess;

  constructor(args: string[]) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', 'test/faults/task-worker-agent.ts', ...args], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    createInterface({ input: this.proc.stdout! }).on('line', (text) => {
      try {
        this.lines.push(JSON.parse(text) as Line);
      } catch {
        // Not one of ours.
      }
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  find(event: string, match: (l: Line) => boolean = () => true): Line | undefined {
    return this.lines.find((l) => l.event === event && match(l));
  }

  async until(event: string, match: (l: Line) => boolean = () => true, timeoutMs = 20_000): Promise<Line> {
    let found: Line | undefined;
    await waitFor(() => (found = this.find(event, match)) !== undefined, timeoutMs, `agent ${event}`);
    return found!;
  }

  signal(sig: NodeJS.Signals): void {
    this.proc.kill(sig);
  }

  async kill(): Promise<void> {
    this.proc.kill('SIGKILL');
    await this.exited;
  }
}

let server: TestServer;
const agents: Agent[] = [];
beforeAll(async () => {
  // Write admission measures this process's event loop, which the tests share with the server.
  server = await startTestServer({ env: { ADMISSION_LAG_MS: '0' } });
});
afterAll(async () => {
  for (const a of agents) a.signal('SIGCONT');
  await Promise.all(agents.map((a) => a.kill()));
  await server?.stop();
});

function agent(board: string, ...extra: string[]): Agent {
  const a = new Agent(['--url', server.wsUrl, '--board', board, ...extra]);
  agents.push(a);
  return a;
}

interface Progress {
  next: number;
  outputs: string[];
}
interface Status {
  state: string;
  attempt: number;
  seq: number;
}

/** A busy node refuses writes with RATE_LIMITED and a hint; the same taskId makes a retry harmless. */
async function enqueueWhenAdmitted(client: BlackboardClient, board: string, taskId: string, data: unknown): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.enqueue(board, 'jobs', data, { taskId });
      return;
    } catch (err) {
      if (!(err instanceof BlackboardError && err.code === ErrorCode.RATE_LIMITED) || attempt > 50) throw err;
      await new Promise((r) => setTimeout(r, Number(err.details?.retryAfterMs ?? 100)));
    }
  }
}

/** Records every `$tasks` event of a board, in revision order. */
async function recordTasks(client: BlackboardClient, board: string): Promise<BoardEvent[]> {
  const events: BoardEvent[] = [];
  await client.subscribe({ board, patterns: ['$tasks/**'] }, { events: (batch) => events.push(...batch) });
  return events;
}

describe('tasks survive their workers', () => {
  it('a task of 20 checkpointed subtasks resumes at the next subtask after its worker is SIGKILLed; each output once', async () => {
    const board = randomBoard();
    const client = await server.client();
    await client.enqueue(board, 'jobs', { n: 20 }, { taskId: 'big' });
    const a = agent(board, '--step-ms', '100', '--lease', '5000');
    await a.until('start', (l) => l.taskId === 'big');
    await waitFor(async () => (await client.task(board, 'big')).seq >= 7, 20_000, 'seven checkpoints');
    await a.kill();
    await waitFor(async () => (await client.task(board, 'big')).state === 'waiting', 10_000, 'task back in the queue');
    const atLoss = await client.task<unknown, Progress>(board, 'big');
    expect(atLoss.checkpoint?.next).toBe(atLoss.seq);

    const b = agent(board, '--step-ms', '20');
    const resumed = await b.until('start', (l) => l.taskId === 'big');
    expect(resumed).toMatchObject({ attempt: 2, from: atLoss.checkpoint!.next });
    await waitFor(async () => (await client.task(board, 'big')).state === 'completed', 20_000, 'completion');
    const done = await client.task<{ outputs: string[] }>(board, 'big');
    expect(done.result?.outputs).toEqual(Array.from({ length: 20 }, (_, i) => `big:${i}`));
    expect(done).toMatchObject({ attempt: 2, losses: 1, failures: 0, seq: 20, progress: 100 });
    await b.kill();
  });

  it('200 tasks, 3 worker processes, one killed three times: all complete once, each resumed one from its last checkpoint', async () => {
    const board = randomBoard();
    const client = await server.client();
    const events = await recordTasks(client, board);
    const N = 200;
    const SUBTASKS = 8;
    for (let i = 0; i < N; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => enqueueWhenAdmitted(client, board, `t${i + j}`, { n: SUBTASKS })));
    }
    const args = ['--concurrency', '4', '--step-ms', '40', '--lease', '5000'];
    const steady = [agent(board, ...args), agent(board, ...args)];
    let victim = agent(board, ...args);
    const completed = () => events.filter((e) => e.key.split('/').length === 3 && (e.value as Status | undefined)?.state === 'completed').length;
    for (const threshold of [25, 75, 125]) {
      await waitFor(() => completed() >= threshold, 60_000, `${threshold} completions`);
      await victim.until('start');
      await victim.kill();
      victim = agent(board, ...args);
    }
    await waitFor(() => completed() >= N, 90_000, 'all completions');
    await new Promise((r) => setTimeout(r, 300));

    // Replay the mirror: the checkpoint each delivery was handed, and completions per task.
    const lastCheckpoint = new Map<string, Progress>();
    const handed = new Map<string, number>();
    const completions = new Map<string, number>();
    for (const e of events) {
      const parts = e.key.split('/');
      const taskId = parts[2]!;
      if (parts[3] === 'checkpoint') lastCheckpoint.set(taskId, e.value as Progress);
      if (parts.length !== 3) continue;
      const status = e.value as Status;
      const delivery = `${taskId}#${status.attempt}`;
      // The first event of a delivery shows what it was handed; later ones carry its own checkpoints.
      if (status.state === 'active' && !handed.has(delivery)) handed.set(delivery, lastCheckpoint.get(taskId)?.next ?? 0);
      if (status.state === 'completed') completions.set(taskId, (completions.get(taskId) ?? 0) + 1);
    }
    expect(completions.size).toBe(N);
    expect([...completions.values()].every((n) => n === 1)).toBe(true);

    const starts = [...steady, victim, ...agents].flatMap((a) => a.lines.filter((l) => l.event === 'start'));
    const resumed = starts.filter((s) => Number(s.attempt) > 1);
    expect(resumed.length).toBeGreaterThan(0);
    let checked = 0;
    for (const s of new Set(starts)) {
      const expected = handed.get(`${String(s.taskId)}#${Number(s.attempt)}`);
      if (expected === undefined) continue;
      expect(s.from).toBe(expected);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(N);

    for (let i = 0; i < N; i++) {
      const t = await client.task<{ outputs: string[] }>(board, `t${i}`);
      expect(t.state).toBe('completed');
      expect(t.result?.outputs).toEqual(Array.from({ length: SUBTASKS }, (_, k) => `t${i}:${k}`));
    }
    await Promise.all([...steady, victim].map((a) => a.kill()));
  }, 180_000);

  it('a worker frozen with SIGSTOP past its lease loses the task; after SIGCONT its heartbeat, checkpoint and complete are FENCED', async () => {
    const board = randomBoard();
    const client = await server.client();
    await client.enqueue(board, 'jobs', { n: 1 }, { taskId: 'cold' });
    const a = agent(board, '--mode', 'raw', '--lease', '1500', '--step-ms', '200', '--agent', 'frozen');
    await a.until('checkpoint', (l) => Number(l.step) >= 2);
    a.signal('SIGSTOP');
    const stoppedAt = Date.now();
    const b = agent(board, '--mode', 'raw', '--lease', '5000', '--step-ms', '100', '--agent', 'thawed');
    const taken = await b.until('start');
    expect(taken.attempt).toBe(2);
    expect(Number(taken.t) - stoppedAt).toBeGreaterThanOrEqual(1_000);
    await b.until('checkpoint');
    a.signal('SIGCONT');
    const fencedLine = await a.until('fenced');
    expect(fencedLine).toMatchObject({ checkpoint: 'FENCED', heartbeat: 'FENCED', complete: 'FENCED' });

    const now = await client.task<unknown, { by: string }>(board, 'cold');
    expect(now).toMatchObject({ state: 'active', attempt: 2, losses: 1 });
    expect(now.checkpoint?.by).toBe('thawed');
    await b.kill();
  });
});
