/**
 * LangGraph checkpointers side by side: BlackboardSaver through the server under test, and
 * @langchain/langgraph-checkpoint-postgres on the same Postgres (the server's database,
 * in a schema of its own), in the same run. Checkpoint `put` and `getTuple` latency, one
 * at a time, on a chain of checkpoints as a graph makes them; then a 100-superstep run of
 * a real StateGraph through each. The paths take turns in rounds so drift in the
 * machine's speed lands on both alike.
 */
import pg from 'pg';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import { uuid6, type BaseCheckpointSaver, type Checkpoint } from '@langchain/langgraph-checkpoint';
import { BlackboardSaver } from '../client/langgraph/index.js';
import { relayGraph } from '../test/langgraph/fixtures/relay-graph.js';
import { benchBoard } from './boards.js';
import { connectClient, type BenchContext } from './context.js';
import { percentile, round, type Figure } from './stats.js';

const ROUNDS = 4;

interface Timings {
  put: number[];
  get: number[];
  run: number[];
}

/** A state like a small agent's: a message list that grows, a counter, a scratch note. */
function stateAt(step: number): Record<string, unknown> {
  return {
    messages: Array.from({ length: Math.min(step, 20) }, (_, i) => ({ role: i % 2 ? 'ai' : 'human', content: `message ${i} of the conversation so far` })),
    step,
    note: `working on item ${step % 7}`,
  };
}

/** `count` puts on one thread, each extending the previous checkpoint, then `count` reads of the latest. */
async function chain(saver: BaseCheckpointSaver, thread: string, count: number, start: number, into: Timings): Promise<void> {
  let config = { configurable: { thread_id: thread, checkpoint_ns: '' } } as { configurable: Record<string, unknown> };
  if (start > 0) {
    const latest = await saver.getTuple(config);
    if (latest) config = latest.config as typeof config;
  }
  for (let i = start; i < start + count; i++) {
    const values = stateAt(i);
    const versions = { messages: i + 1, step: i + 1, note: Math.floor(i / 3) + 1 };
    const checkpoint: Checkpoint = {
      v: 4,
      id: uuid6(-1),
      ts: new Date().toISOString(),
      channel_values: values,
      channel_versions: versions,
      versions_seen: { agent: { step: i } },
    };
    const newVersions = i % 3 === 0 ? versions : { messages: versions.messages, step: versions.step };
    const t0 = performance.now();
    config = (await saver.put(config, checkpoint, { source: 'loop', step: i, parents: {} }, newVersions)) as typeof config;
    into.put.push(performance.now() - t0);
  }
  const latest = { configurable: { thread_id: thread, checkpoint_ns: '' } };
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await saver.getTuple(latest);
    into.get.push(performance.now() - t0);
  }
}

async function graphRun(saver: BaseCheckpointSaver, thread: string, into: Timings): Promise<void> {
  const t0 = performance.now();
  // 50 rounds of `step` then `fast` + `slow`: 100 supersteps, a checkpoint and pending writes each.
  await relayGraph(saver, { rounds: 50 }).invoke({ count: 0 }, { configurable: { thread_id: thread }, recursionLimit: 500 });
  into.run.push(performance.now() - t0);
}

function latencyFigures(name: string, ours: number[], theirs: number[], goal: string | undefined, baselineName: string): Figure[] {
  const a = [...ours].sort((x, y) => x - y);
  const b = [...theirs].sort((x, y) => x - y);
  return [50, 99].map((p) => {
    const value = round(percentile(a, p), 3);
    const baseline = round(percentile(b, p), 3);
    return { name: `${name} p${p}`, value, unit: 'ms', baseline, baselineName, ratio: round(baseline / value, 2), ...(goal ? { goal } : {}) };
  });
}

export async function benchLangGraph(ctx: BenchContext): Promise<Figure[]> {
  const dbUrl = ctx.serverEnv.DATABASE_URL;
  if (!dbUrl) throw new Error('the LangGraph section needs the server database (DATABASE_URL)');
  const pool = new pg.Pool({ connectionString: dbUrl, max: 4 });
  const postgres = new PostgresSaver(pool, undefined, { schema: 'langgraph_bench' });
  await postgres.setup();
  const client = await connectClient(ctx.url);
  const board = benchBoard('langgraph');
  const durable = new BlackboardSaver({ client, board, durability: 'durable' });
  const memory = new BlackboardSaver({ client, board, durability: 'memory' });
  const timings = { durable: { put: [], get: [], run: [] }, memory: { put: [], get: [], run: [] }, postgres: { put: [], get: [], run: [] } } as Record<
    'durable' | 'memory' | 'postgres',
    Timings
  >;
  const perRound = ctx.plan.count(150);
  try {
    // Warm-up: the JIT, both connections, the server's scripts, Postgres's plans.
    for (const [name, saver] of [
      ['durable', durable],
      ['memory', memory],
      ['postgres', postgres],
    ] as const) {
      await chain(saver, `warm-${name}`, 50, 0, { put: [], get: [], run: [] });
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, saver] of [
        ['durable', durable],
        ['memory', memory],
        ['postgres', postgres],
      ] as const) {
        await chain(saver, `chain-${name}`, perRound, r * perRound, timings[name]);
        await graphRun(saver, `graph-${name}-${r}`, timings[name]);
      }
    }
  } finally {
    client.close();
    await pool.query('DROP SCHEMA IF EXISTS langgraph_bench CASCADE').catch(() => undefined);
    await pool.end();
  }
  const pgName = 'PostgresSaver';
  const runs = (t: Timings) => round(t.run.reduce((s, x) => s + x, 0) / t.run.length, 1);
  return [
    ...latencyFigures('getTuple (latest)', timings.durable.get, timings.postgres.get, '≤ PostgresSaver', pgName),
    ...latencyFigures('put, durable', timings.durable.put, timings.postgres.put, '≤ 1.5× PostgresSaver', pgName),
    ...latencyFigures('put, memory', timings.memory.put, timings.postgres.put, undefined, pgName),
    {
      name: '100-superstep graph run, durable',
      value: runs(timings.durable),
      unit: 'ms',
      baseline: runs(timings.postgres),
      baselineName: pgName,
      ratio: round(runs(timings.postgres) / runs(timings.durable), 2),
    },
    {
      name: '100-superstep graph run, memory',
      value: runs(timings.memory),
      unit: 'ms',
      baseline: runs(timings.postgres),
      baselineName: pgName,
      ratio: round(runs(timings.postgres) / runs(timings.memory), 2),
    },
  ];
}
