import type pg from 'pg';
import type { Config } from '../config.js';
import type { Extension } from '../extension.js';
import { HISTORY, type Services } from '../services.js';
import { defineHistoryScripts } from './scripts.js';
import { ClusterSplit, claimClusterIdentity } from './cluster-identity.js';
import { createDb, createPool, databaseName, ensureDatabase, migrateDb } from './db.js';
import { PgHealth } from './pg-health.js';
import { Persister } from './persister.js';
import { Rebuilder } from './rebuild.js';
import { Recovery } from './recovery.js';
import { RedisSwitchCheck } from './redis-switch.js';
import { HistoryReplaySource } from './replayer.js';
import { HistoryRepo } from './repo.js';
import { SeenRevisions } from './seen.js';
import { PostgresHistory } from './service.js';
import { Snapshotter } from './snapshotter.js';
import { PersistWaiters } from './waiters.js';

const PREPARE_RETRY_MS = 1_000;
const WATERMARK_POLL_MS = 5;

/**
 * History in Postgres: the persister (Redis streams → Postgres), `durable` acks,
 * `atRev` and `history` reads, replay past the stream, and the rebuild of boards Redis
 * lost. Nodes start without Postgres and catch up once it answers.
 */
export function historyExtension(config: Config): Extension {
  let pool: pg.Pool | null = null;
  let health: PgHealth | null = null;
  let stopped = false;
  let switchCheck: RedisSwitchCheck | null = null;
  const stoppers: Array<() => Promise<void> | void> = [];

  return {
    name: 'history',
    // After a reconnect, nothing is served until the node knows Redis did not lose revisions.
    hooks: { admit: () => switchCheck?.admit() },

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
      const database = databaseName(config.DATABASE_URL);
      // Redis that lost its data lost the cluster id too: it is claimed again before the
      // instance marker says the data is whole, and a node that finds another cluster's id
      // there stops persisting.
      const reclaim = async () => {
        try {
          await claimClusterIdentity(redis, pool!, database);
        } catch (err) {
          if (err instanceof ClusterSplit) {
            log.error({ redisCluster: err.redisId, databaseCluster: err.databaseId }, err.message);
            await persister.stop();
          }
          throw err;
        }
      };
      const recovery = new Recovery(redis, store, repo, rebuilder, pgHealth, log, config.HISTORY_CHECK_MS, reclaim);

      switchCheck = new RedisSwitchCheck(redis, store, db, pgHealth, seen, rebuilder, log);
      await switchCheck.start();
      store.addMaterializer(recovery);
      services.replay.addSource(new HistoryReplaySource(repo, pgHealth));
      const history = new PostgresHistory(services, repo, pgHealth, waiters, persister);
      services.durability.register((board, rev, timeoutMs) => history.awaitPersisted(board, rev, timeoutMs));
      services.capabilities.provide(HISTORY, history);
      const onRedisReady = () => void recovery.check();
      redis.on('ready', onRedisReady);
      stoppers.push(
        () => void redis.off('ready', onRedisReady),
        () => switchCheck?.stop(),
        () => persister.stop(),
        () => recovery.stop(),
        () => waiters?.stop(),
        () => pgHealth.stop(),
      );

      // The database and its migrations come first, then the check that this database is
      // the one the other nodes of this Redis use, all before any stream entry is read.
      // Without Postgres the node still serves (writes buffer in the streams) and keeps
      // trying in the background.
      const prepare = async (): Promise<boolean> => {
        try {
          await ensureDatabase(config.DATABASE_URL, 3_000);
          await migrateDb(pool!, db, log);
          await claimClusterIdentity(redis, pool!, database);
          return true;
        } catch (err) {
          if (err instanceof ClusterSplit) throw err;
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
          void prepare().then(
            (ok) => {
              if (!ok || stopped) return;
              clearInterval(retry);
              begin();
            },
            (err: unknown) => {
              // Found only once Postgres answered: the node keeps serving Redis but never persists.
              clearInterval(retry);
              log.error({ redisCluster: (err as ClusterSplit).redisId, databaseCluster: (err as ClusterSplit).databaseId }, (err as Error).message);
            },
          );
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
