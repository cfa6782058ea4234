/**
 * History figures: persister throughput against a raw COPY of the same rows,
 * `durable` write latency against `memory`, and the time to rebuild a 100,000-key board
 * from Postgres against loading the same records into Redis directly. Runs on a private
 * redis-server and a database of its own, both thrown away after.
 * Alone: `npx tsx bench/history.ts` (BENCH_SCALE scales the work).
 */
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { BlackboardClient } from '../client/sdk/index.js';
import { startApp } from '../server/app.js';
import { boardKeys } from '../server/board/keys.js';
import type { RedisClient } from '../server/board/scripts.js';
import { defineHistoryScripts } from '../server/history/scripts.js';
import { BoardStore } from '../server/board/store.js';
import { connectRedis } from '../server/redis.js';
import type pg from 'pg';
import { createDb, createPool, ensureDatabase, migrateDb, type HistoryDb } from '../server/history/db.js';
import { copyEvents, type BoardRows } from '../server/history/copy-rows.js';
import { revisionRecords } from '../server/board/event-codec.js';
import { PgHealth } from '../server/history/pg-health.js';
import { Persister } from '../server/history/persister.js';
import { SeenRevisions } from '../server/history/seen.js';
import { readStream } from '../server/board/feed.js';
import { startRedisProcess } from '../test/helpers/redis-process.js';
import { testDatabase } from '../test/helpers/pg-database.js';
import { randomBoard } from '../test/helpers/server.js';
import { cpuSpent } from './machine.js';
import { percentile, round, runConcurrent, type Figure } from './stats.js';

export interface HistoryBenchOptions {
  scale?: number;
}

const silent = pino({ level: 'silent' });

const PERSIST_BATCH = 1_000;
const sampleValueText = JSON.stringify({ status: 'working', step: 3, notes: 'a small agent state value' });

/** Commits `revisions` revisions spread over `boards` new boards; returns their names and counts. */
async function fill(store: BoardStore, revisions: number, boards: number): Promise<Map<string, number>> {
  const names = Array.from({ length: boards }, () => randomBoard('bh'));
  for (const board of names) await store.createBoard(board);
  await runConcurrent(revisions, 64, (i) =>
    store.commit({
      board: names[i % boards]!,
      actorJson: '"bench"',
      shape: 'put',
      compares: [],
      ops: [{ kind: 'put', key: `k${i % 1000}`, valueText: sampleValueText }],
    }),
  );
  return new Map(names.map((b, i) => [b, Math.floor(revisions / boards) + (i < revisions % boards ? 1 : 0)]));
}

/** Runs a persister until every board's watermark reaches its count; returns the seconds it took. */
async function persistAll(redis: RedisClient, db: HistoryDb, health: PgHealth, counts: Map<string, number>): Promise<number> {
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const remaining = new Set(counts.keys());
  const options = { batch: PERSIST_BATCH, idleMs: 5, claimMs: 60_000 };
  const persister = new Persister(redis, db, health, new SeenRevisions(), silent, options, 'bench', (board, _epoch, watermark) => {
    if (watermark >= (counts.get(board) ?? Infinity) && remaining.delete(board) && remaining.size === 0) done();
  });
  const started = performance.now();
  persister.start();
  // As boards that are being written are: read at once rather than at their first discovery.
  for (const board of counts.keys()) persister.nudge(board);
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await persister.stop();
  return seconds;
}

/** The boards' rows as the persister writes them, in COPY statements of one board's batch each. */
async function rowsAsStatements(redis: RedisClient, boards: Iterable<string>): Promise<BoardRows[]> {
  const statements: BoardRows[] = [];
  for (const board of boards) {
    for (let next = 1; ; ) {
      const part = await readStream(redis, board, next, PERSIST_BATCH);
      if (part.length === 0) break;
      statements.push({ board, records: part.flatMap(revisionRecords) });
      next = part[part.length - 1]!.rev + 1;
    }
  }
  return statements;
}

/** Raw COPY of the statements into a twin of the events table; returns the seconds it took. */
async function rawCopy(client: pg.PoolClient, statements: BoardRows[]): Promise<number> {
  const started = performance.now();
  for (const statement of statements) await copyEvents(client, 'events_raw', [statement]);
  return (performance.now() - started) / 1000;
}

/**
 * The persister draining `revisions` revisions spread over `boards` boards (stream →
 * Postgres, acknowledged, watermark moved) against a raw COPY of the same rows, one
 * statement per board and batch, into a twin of the events table. Both warm up first.
 */
export async function persisterThroughput(redisUrl: string, dbUrl: string, revisions: number, boards = 1): Promise<Figure[]> {
  const redis = await connectRedis(redisUrl, silent, 'bench');
  defineHistoryScripts(redis);
  const pool = createPool({ url: dbUrl, poolMax: 4, queryTimeoutMs: 60_000 });
  const db = createDb(pool);
  await migrateDb(pool, db);
  const client = await pool.connect();
  try {
    await client.query('CREATE TABLE IF NOT EXISTS events_raw (LIKE events INCLUDING ALL)');
    const store = new BoardStore(redis, { retention: revisions * 2, keepsHistory: true });
    const health = new PgHealth(pool, silent);
    health.noteSuccess();
    const warm = await fill(store, Math.max(PERSIST_BATCH, Math.round(revisions / 10)), boards);
    await persistAll(redis, db, health, warm);
    await rawCopy(client, await rowsAsStatements(redis, warm.keys()));

    const counts = await fill(store, revisions, boards);
    // This process and its Postgres connections (not autovacuum, which comes later for both tables):
    // the CPU each path costs, whatever else the machine runs.
    const backends = async () =>
      (await pool.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'")).rows.map(
        (r) => Number(r.pid),
      );
    const persisted = await cpuSpent(backends, () => persistAll(redis, db, health, counts));
    const statements = await rowsAsStatements(redis, counts.keys());
    const copied = await cpuSpent(backends, () => rawCopy(client, statements));
    const rows = statements.reduce((n, statement) => n + statement.records.length, 0);
    const rate = revisions / persisted.result;
    const rawRate = rows / copied.result;
    const perRow = (persisted.cpuMs * 1_000) / rows;
    const rawPerRow = (copied.cpuMs * 1_000) / rows;
    return [
      {
        name: `persister, ${revisions} events on ${boards} board${boards === 1 ? '' : 's'} (stream → Postgres, acked)`,
        value: round(rate, 0),
        unit: 'rows/s',
        baseline: round(rawRate, 0),
        baselineName: `raw COPY of the same rows, a statement per board and ${PERSIST_BATCH} revisions`,
        ratio: round(rate / rawRate, 3),
        goal: '≥ 0.6',
      },
      {
        name: '… CPU per row (Node and Postgres backends; the persister also reads and acknowledges in Redis)',
        value: round(perRow, 1),
        unit: 'µs',
        baseline: round(rawPerRow, 1),
        baselineName: 'the raw COPY',
        ratio: round(rawPerRow / perRow, 3),
      },
    ];
  } finally {
    await client.query('DROP TABLE IF EXISTS events_raw').catch(() => undefined);
    client.release();
    await pool.end();
    redis.disconnect();
  }
}

async function durableLatency(redisUrl: string, dbUrl: string, writes: number): Promise<Figure[]> {
  const app = await startApp({ logger: silent, env: { REDIS_URL: redisUrl, DATABASE_URL: dbUrl, PORT: '0', HOST: '127.0.0.1' } });
  const client = new BlackboardClient({ url: `ws://127.0.0.1:${app.port}/v1/ws`, WebSocket });
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
      await store.materialize(board);
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
      ...(await persisterThroughput(redis.url, db.url, Math.round(50_000 * scale), 100)),
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
