/**
 * History figures: persister throughput against a raw multi-row INSERT of the same rows,
 * `durable` write latency against `memory`, and the time to rebuild a 100,000-key board
 * from Postgres against loading the same records into Redis directly. Runs on a private
 * redis-server and a database of its own, both thrown away after.
 * Alone: `npx tsx bench/history.ts` (BENCH_SCALE scales the work).
 */
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { BlackboardClient, type SocketFactory } from '../client/sdk/index.js';
import { startApp } from '../server/app.js';
import { boardKeys } from '../server/board/keys.js';
import { defineScripts } from '../server/board/scripts.js';
import { BoardStore } from '../server/board/store.js';
import { connectRedis } from '../server/redis.js';
import { createDb, createPool, ensureDatabase, migrateDb } from '../server/history/db.js';
import { decodeEntry } from '../server/history/event-codec.js';
import { PgHealth } from '../server/history/pg-health.js';
import { Persister } from '../server/history/persister.js';
import { SeenRevisions } from '../server/history/seen.js';
import { readStream } from '../server/board/feed.js';
import { startRedisProcess } from '../test/helpers/redis-process.js';
import { testDatabase } from '../test/helpers/pg-database.js';
import { randomBoard } from '../test/helpers/server.js';
import { percentile, round, runConcurrent, type Figure } from './stats.js';

export interface HistoryBenchOptions {
  scale?: number;
}

const silent = pino({ level: 'silent' });
const HISTORY_SCRIPTS = ['set-watermark-1', 'rebuild-begin-5', 'rebuild-load-3', 'rebuild-finish-2', 'history-group-2'];

async function persisterThroughput(redisUrl: string, dbUrl: string, revisions: number): Promise<Figure[]> {
  const redis = await connectRedis(redisUrl, silent, 'bench');
  defineScripts(redis, HISTORY_SCRIPTS);
  const pool = createPool({ url: dbUrl, poolMax: 4, queryTimeoutMs: 60_000 });
  const db = createDb(pool);
  await migrateDb(pool, db);
  const store = new BoardStore(redis, { retention: revisions * 2, keepsHistory: true });
  const board = randomBoard('bh');
  await store.createBoard(board);
  const valueText = JSON.stringify({ status: 'working', step: 3, notes: 'a small agent state value' });
  await runConcurrent(revisions, 64, (i) =>
    store.commit({ board, actorJson: '"bench"', shape: 'put', compares: [], ops: [{ kind: 'put', key: `k${i % 1000}`, valueText }] }),
  );
  const health = new PgHealth(pool, silent);
  health.noteSuccess();
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const persister = new Persister(redis, db, health, new SeenRevisions(), silent, { batch: 1_000, idleMs: 5, claimMs: 60_000 }, 'bench', (b, _e, wm) => {
    if (b === board && wm >= revisions) done();
  });
  const started = performance.now();
  persister.start();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await persister.stop();

  // The same rows, inserted with plain multi-row INSERTs of the same batch size into a twin table.
  const rows: ReturnType<typeof decodeEntry>[] = [];
  for (let next = 1; next <= revisions; ) {
    const batch = await readStream(redis, board, next, 5_000);
    for (const revision of batch) revision.entries.forEach((e, i) => rows.push(decodeEntry(revision.rev, e, i)));
    next = batch[batch.length - 1]!.rev + 1;
  }
  const client = await pool.connect();
  await client.query('CREATE TABLE events_raw (LIKE events INCLUDING ALL)');
  const rawStarted = performance.now();
  for (let i = 0; i < rows.length; i += 1_000) {
    const part = rows.slice(i, i + 1_000);
    const values: unknown[] = [];
    const tuples = part.map((r, j) => {
      values.push(board, r.rev, r.key, r.pos, r.type, r.version, r.value, r.patch, r.actor, r.ts, r.raw);
      return `(${Array.from({ length: 11 }, (_, c) => `$${j * 11 + c + 1}`).join(',')})`;
    });
    await client.query(
      `INSERT INTO events_raw (board, rev, key, pos, type, version, value, patch, actor, ts, raw) VALUES ${tuples.join(',')}`,
      values,
    );
  }
  const rawSeconds = (performance.now() - rawStarted) / 1000;
  client.release();
  await pool.end();
  redis.disconnect();
  const rate = revisions / seconds;
  const rawRate = rows.length / rawSeconds;
  return [
    {
      name: `persister, ${revisions} events (stream → Postgres, acked)`,
      value: round(rate, 0),
      unit: 'rows/s',
      baseline: round(rawRate, 0),
      baselineName: 'multi-row INSERT of the same rows, same batch size',
      ratio: round(rate / rawRate, 3),
    },
  ];
}

async function durableLatency(redisUrl: string, dbUrl: string, writes: number): Promise<Figure[]> {
  const app = await startApp({ logger: silent, env: { REDIS_URL: redisUrl, DATABASE_URL: dbUrl, PORT: '0', HOST: '127.0.0.1' } });
  const client = new BlackboardClient({ url: `ws://127.0.0.1:${app.port}/v1/ws`, WebSocket: WebSocket as unknown as SocketFactory });
  await client.connect();
  const board = randomBoard('bd');
  try {
    const memory = await runConcurrent(writes, 1, (i) => client.put(board, `m${i % 100}`, { i }));
    const durable = await runConcurrent(writes, 1, (i) => client.put(board, `d${i % 100}`, { i }, { durability: 'durable' }));
    const figures: Figure[] = [];
    for (const p of [50, 99]) {
      const value = percentile(durable.latencies, p);
      const base = percentile(memory.latencies, p);
      figures.push({
        name: `durable put p${p} latency (one in flight)`,
        value: round(value, 3),
        unit: 'ms',
        baseline: round(base, 3),
        baselineName: 'memory put, same run',
        ratio: round(base / value, 3),
      });
    }
    return figures;
  } finally {
    client.close();
    await app.stop();
  }
}

async function rebuildTime(redisUrl: string, dbUrl: string, keys: number): Promise<Figure[]> {
  const app = await startApp({ logger: silent, env: { REDIS_URL: redisUrl, DATABASE_URL: dbUrl, PORT: '0', HOST: '127.0.0.1' } });
  const { store, redis } = app.services;
  const board = randomBoard('bb');
  try {
    const valueText = JSON.stringify({ owner: 'agent-7', state: 'done', score: 0.93, tags: ['a', 'b'] });
    await runConcurrent(keys / 100, 8, (t) =>
      store.commit({
        board,
        actorJson: '"bench"',
        shape: 'txn',
        compares: [],
        ops: Array.from({ length: 100 }, (_, i) => ({ kind: 'put' as const, key: `task/${t}/${i}`, valueText })),
      }),
    );
    const meta = boardKeys(board);
    const rev = Number(await redis.hget(meta.meta, 'rev'));
    while (Number(await redis.hget(meta.meta, 'pw')) < rev) await new Promise((r) => setTimeout(r, 50));
    const records = await redis.hgetall(meta.kv);
    const loseAndRebuild = async () => {
      await redis.del(meta.meta, meta.kv, meta.idx, meta.log);
      const started = performance.now();
      await store.materializer.materialize(board);
      const seconds = (performance.now() - started) / 1000;
      if (Number(await redis.hlen(meta.kv)) !== keys) throw new Error('rebuild lost keys');
      return seconds;
    };
    const first = await loseAndRebuild();
    const second = await loseAndRebuild();
    // Baseline: the same records written straight into Redis in pipelined chunks.
    const scratch = `${meta.kv}:bench`;
    const entries = Object.entries(records);
    const rawStarted = performance.now();
    for (let i = 0; i < entries.length; i += 1_000) {
      const chunk = entries.slice(i, i + 1_000);
      const pipeline = redis.pipeline();
      pipeline.hset(scratch, Object.fromEntries(chunk));
      pipeline.zadd(`${scratch}:idx`, ...chunk.flatMap(([k]) => [0, k]));
      await pipeline.exec();
    }
    const raw = (performance.now() - rawStarted) / 1000;
    await redis.del(scratch, `${scratch}:idx`);
    return [
      {
        name: `rebuild of a ${keys}-key board from Postgres (snapshot at hand)`,
        value: round(second, 3),
        unit: 's',
        baseline: round(raw, 3),
        baselineName: 'the same records written to Redis directly',
        ratio: round(raw / second, 3),
      },
      {
        name: `rebuild of a ${keys}-key board from Postgres (folding ${rev} revisions into a snapshot first)`,
        value: round(first, 3),
        unit: 's',
        baseline: round(raw, 3),
        baselineName: 'the same records written to Redis directly',
        ratio: round(raw / first, 3),
      },
    ];
  } finally {
    await app.stop();
  }
}

export async function benchHistory(opts: HistoryBenchOptions = {}): Promise<Figure[]> {
  const scale = opts.scale ?? 1;
  const redis = await startRedisProcess();
  const db = testDatabase('bbbench');
  try {
    await ensureDatabase(db.url, 5_000);
    return [
      ...(await persisterThroughput(redis.url, db.url, Math.round(50_000 * scale))),
      ...(await durableLatency(redis.url, db.url, Math.round(500 * scale))),
      ...(await rebuildTime(redis.url, db.url, 100_000)),
    ];
  } finally {
    await db.drop().catch(() => undefined);
    await redis.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchHistory({ scale: Number(process.env.BENCH_SCALE ?? 1) })
    .then((figures) => {
      for (const f of figures) {
        process.stdout.write(`${f.name}: ${f.value} ${f.unit} (baseline ${f.baseline} ${f.unit}: ${f.baselineName}; ratio ${f.ratio})\n`);
      }
      process.exit(0);
    })
    .catch((err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    });
}

