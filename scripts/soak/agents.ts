import { WebSocket } from 'ws';
import { BlackboardClient, BlackboardError } from '../../client/sdk/index.js';
import type { SocketFactory } from '../../client/sdk/connection.js';

/**
 * The soak's agents: each is an SDK client doing what a kind of agent does, recording
 * what it was told (acknowledged writes, completed tasks, gaps seen) for the end checks.
 */

export interface Ledger {
  /** Every acknowledged write: `rev key`. */
  acked: Set<string>;
  ackedDurable: number;
  casCommits: Map<string, number>;
  lockedWrites: number;
  lockAcquisitions: number;
  enqueued: string[];
  /** taskId → times its handler ran to its end. */
  finished: Map<string, number>;
  checkpoints: number;
  watcherReconnects: number;
  watcherEvents: number;
  /** Gaps or repeats a watcher saw (a key's version not following the last one it knew). */
  watcherGaps: string[];
  dashboardReads: number;
  errors: Map<string, number>;
}

export function newLedger(): Ledger {
  return {
    acked: new Set(),
    ackedDurable: 0,
    casCommits: new Map(),
    lockedWrites: 0,
    lockAcquisitions: 0,
    enqueued: [],
    finished: new Map(),
    checkpoints: 0,
    watcherReconnects: 0,
    watcherEvents: 0,
    watcherGaps: [],
    dashboardReads: 0,
    errors: new Map(),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jitter = (ms: number) => ms * (0.5 + Math.random());

export interface AgentContext {
  wsUrl: string;
  board: string;
  ledger: Ledger;
  running(): boolean;
}

export async function connectAgent(ctx: AgentContext, agent: string): Promise<BlackboardClient> {
  const client = new BlackboardClient({
    url: `${ctx.wsUrl}?agent=${agent}`,
    WebSocket: WebSocket as unknown as SocketFactory,
    reconnect: { baseMs: 50, capMs: 1_000 },
    requestTimeoutMs: 60_000,
  });
  await client.connect();
  return client;
}

function noteError(ctx: AgentContext, where: string, err: unknown): void {
  const code = err instanceof BlackboardError ? err.code : (err as Error).message.slice(0, 80);
  const key = `${where}: ${code}`;
  ctx.ledger.errors.set(key, (ctx.ledger.errors.get(key) ?? 0) + 1);
}

/** Counters incremented by read-modify-write (compare-and-set), ~10 commits/s each. */
export async function casWriter(ctx: AgentContext, client: BlackboardClient, n: number): Promise<void> {
  while (ctx.running()) {
    const key = `cas/c${Math.floor(Math.random() * 5)}`;
    try {
      const r = await client.update<number>(ctx.board, key, (v) => (v ?? 0) + 1);
      ctx.ledger.acked.add(`${r.rev} ${key}`);
      ctx.ledger.casCommits.set(key, (ctx.ledger.casCommits.get(key) ?? 0) + 1);
    } catch (err) {
      noteError(ctx, `cas writer ${n}`, err);
    }
    await sleep(jitter(100));
  }
}

/** `durable` writes over 100 keys, ~5/s, each acknowledged only once Postgres has it. */
export async function durableWriter(ctx: AgentContext, client: BlackboardClient): Promise<void> {
  for (let i = 0; ctx.running(); i++) {
    const key = `durable/d${i % 100}`;
    try {
      const r = await client.put(ctx.board, key, { i, at: Date.now(), pad: 'x'.repeat(200) }, { durability: 'durable' });
      ctx.ledger.acked.add(`${r.rev} ${key}`);
      ctx.ledger.ackedDurable++;
    } catch (err) {
      noteError(ctx, 'durable writer', err);
    }
    await sleep(jitter(200));
  }
}

/** Takes a shared lock, does a few fenced read-modify-writes of one counter, releases. */
export async function lockHolder(ctx: AgentContext, client: BlackboardClient, n: number): Promise<void> {
  while (ctx.running()) {
    try {
      await client.withLock(
        ctx.board,
        'soak-lock',
        async (lock) => {
          ctx.ledger.lockAcquisitions++;
          for (let i = 0; i < 5 && ctx.running(); i++) {
            const current = (await client.value<number>(ctx.board, 'locked/count')) ?? 0;
            const r = await client.put(ctx.board, 'locked/count', current + 1, { fence: lock.fence });
            ctx.ledger.acked.add(`${r.rev} locked/count`);
            ctx.ledger.lockedWrites++;
            await sleep(jitter(100));
          }
        },
        { ttlMs: 5_000, waitMs: 20_000 },
      );
    } catch (err) {
      noteError(ctx, `lock holder ${n}`, err);
    }
    await sleep(jitter(300));
  }
}

/** Enqueues a task about every 2 s. */
export async function taskProducer(ctx: AgentContext, client: BlackboardClient): Promise<void> {
  for (let i = 0; ctx.running(); i++) {
    const taskId = `soak-${i}`;
    try {
      await client.enqueue(ctx.board, 'soak', { steps: 3, i }, { taskId });
      ctx.ledger.enqueued.push(taskId);
    } catch (err) {
      noteError(ctx, 'task producer', err);
    }
    await sleep(jitter(2_000));
  }
}

/** Works the queue: three steps, a checkpoint after each, resuming from the last one. */
export async function taskWorker(ctx: AgentContext, client: BlackboardClient): Promise<() => Promise<void>> {
  const worker = await client.work<{ steps: number }, { steps: number }, { step: number }>(
    ctx.board,
    'soak',
    async (task, t) => {
      for (let step = (t.checkpoint?.step ?? 0) + 1; step <= task.steps; step++) {
        await sleep(jitter(150));
        await t.saveCheckpoint({ step }, Math.round((step / task.steps) * 100));
        ctx.ledger.checkpoints++;
      }
      ctx.ledger.finished.set(t.taskId, (ctx.ledger.finished.get(t.taskId) ?? 0) + 1);
      return { steps: task.steps };
    },
    { concurrency: 2, leaseMs: 10_000, onError: (err) => noteError(ctx, 'task worker', err) },
  );
  return async () => {
    await worker.stop();
  };
}

/**
 * Watches every non-`$` key, drops its connection every ~45 s (the SDK resumes with
 * `fromRev`), and checks each key's versions follow one another without gap or repeat.
 */
export function watcher(
  ctx: AgentContext,
  client: BlackboardClient,
): { stop(): void; rev(): number; replica(): Map<string, { value: unknown; version: number }> } {
  const versions = new Map<string, number>();
  const watch = client.watch(ctx.board, ['**'], (change) => {
    if (change.type === 'reset') {
      versions.clear();
      for (const [key, entry] of watch.replica) versions.set(key, entry.version);
      return;
    }
    if (change.type !== 'event') return;
    const { key, version, type, rev } = change.event;
    ctx.ledger.watcherEvents++;
    const last = versions.get(key) ?? 0;
    const expected = type === 'delete' ? 0 : last + 1;
    if (version !== expected && ctx.ledger.watcherGaps.length < 50) ctx.ledger.watcherGaps.push(`${key} at rev ${rev}: version ${version} after ${last}`);
    versions.set(key, version);
  });
  const timer = setInterval(() => {
    if (!ctx.running()) return;
    ctx.ledger.watcherReconnects++;
    client.connection.drop();
  }, jitter(45_000));
  return {
    stop() {
      clearInterval(timer);
      watch.close();
    },
    rev: () => watch.rev,
    replica: () => new Map([...watch.replica].map(([k, e]) => [k, { value: e.value, version: e.version }])),
  };
}

/** What the dashboard does: a snapshot subscription to everything, `$` keys included, and periodic reads. */
export async function dashboard(ctx: AgentContext, client: BlackboardClient, httpUrl: string): Promise<void> {
  await client.subscribe({ board: ctx.board, patterns: ['**', '$**'], snapshot: true }, {});
  while (ctx.running()) {
    try {
      await client.boards('soak');
      await client.history(ctx.board, { limit: 50 });
      await client.list(ctx.board, 'cas/');
      const page = await fetch(`${httpUrl}/`);
      await page.arrayBuffer();
      ctx.ledger.dashboardReads++;
    } catch (err) {
      noteError(ctx, 'dashboard', err);
    }
    await sleep(jitter(5_000));
  }
}
