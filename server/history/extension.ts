import type pg from 'pg';
import type { Config } from '../config.js';
import type { Extension } from '../extension.js';
import type { HistoryService, Services } from '../services.js';
import { defineHistoryScripts } from './scripts.js';
import { createDb, createPool, ensureDatabase, migrateDb } from './db.js';
import { PgHealth } from './pg-health.js';
import { Persister } from './persister.js';
import { Rebuilder } from './rebuild.js';
import { Recovery } from './recovery.js';
import { HistoryReplayer } from './replayer.js';
import { HistoryRepo } from './repo.js';
import { SeenRevisions } from './seen.js';
import { PostgresHistory } from './service.js';
import { Snapshotter } from './snapshotter.js';
import { PersistWaiters } from './waiters.js';

const PREPARE_RETRY_MS = 1_000;
const WATERMARK_POLL_MS = 5;

/** The persister's figures for metrics: lag (revisions, seconds), batch sizes, Postgres state. */
export function historyStats(history: HistoryService | undefined): Record<string, number> {
  return history instanceof PostgresHistory ? history.stats() : {};
}

/**
 * History in Postgres: the persister (Redis streams → Postgres), `durable` acks,
 * `atRev` and `history` reads, replay past the stream, and the rebuild of boards Redis
 * lost. Nodes start without Postgres and catch up once it answers.
 */
export function historyExtension(config: Config): Extension {
  let pool: pg.Pool | null = null;
  let health: PgHealth | null = null;
  let stopped = false;
  const stoppers: Array<() => Promise<void> | void> = [];

  return {
    name: 'history',

    async init(services: Services) {
      if (!config.HISTORY_ENABLED) return;
      const { log, redis, store } = services;
      defineHistoryScripts(redis);
      pool = createPool({ url: config.DATABASE_URL, poolMax: config.PG_POOL_MAX, queryTimeoutMs: 30_000 });
      const db = createDb(pool);
      const pgHealth = (health = new PgHealth(pool, log));
      const repo = new HistoryRepo(db);
      const seen = new SeenRevisions();
      store.onCommitted((board, rev) => seen.note(board, rev, null));

      const snapshotter = new Snapshotter(db, repo, log, config.SNAPSHOT_EVERY);
      let waiters: PersistWaiters | null = null;
      const persister = new Persister(
        redis,
        db,
        pgHealth,
        seen,
        log,
        { batch: config.PERSIST_BATCH, idleMs: config.PERSIST_IDLE_MS, claimMs: config.PERSIST_CLAIM_MS },
        services.nodeId,
        (board, epoch, watermark) => {
          waiters?.advance(board, epoch, watermark);
          snapshotter.consider(board, watermark);
        },
      );
      waiters = new PersistWaiters(redis, log, WATERMARK_POLL_MS, (board) => persister.nudge(board));
      const rebuilder = new Rebuilder(redis, db, repo, snapshotter, seen, log, config.SNAPSHOT_EVERY);
      const recovery = new Recovery(redis, store, repo, rebuilder, pgHealth, log, config.HISTORY_CHECK_MS);

      store.addMaterializer(recovery);
      services.replayer = new HistoryReplayer(redis, repo, pgHealth);
      services.history = new PostgresHistory(services, repo, pgHealth, waiters, persister);
      const onRedisReady = () => void recovery.check();
      redis.on('ready', onRedisReady);
      stoppers.push(
        () => void redis.off('ready', onRedisReady),
        () => persister.stop(),
        () => recovery.stop(),
        () => waiters?.stop(),
        () => pgHealth.stop(),
      );

      // The database and its migrations come first; without Postgres the node still
      // serves (writes buffer in the streams) and keeps trying in the background.
      const prepare = async (): Promise<boolean> => {
        try {
          await ensureDatabase(config.DATABASE_URL, 3_000);
          await migrateDb(pool!, db, log);
          return true;
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'postgres not ready for history; retrying');
          return false;
        }
      };
      const begin = () => {
        pgHealth.noteSuccess();
        pgHealth.start();
        recovery.start();
        persister.start();
      };
      if (await prepare()) begin();
      else {
        const retry = setInterval(() => {
          void prepare().then((ok) => {
            if (!ok || stopped) return;
            clearInterval(retry);
            begin();
          });
        }, PREPARE_RETRY_MS);
        retry.unref();
        stoppers.push(() => clearInterval(retry));
      }
    },

    async readiness() {
      if (!config.HISTORY_ENABLED) return { postgres: 'disabled' as const };
      return { postgres: health?.up ? ('up' as const) : ('down' as const) };
    },

    async stop() {
      stopped = true;
      for (const fn of stoppers.reverse()) await fn();
      await pool?.end().catch(() => undefined);
    },
  };
}
