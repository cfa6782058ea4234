import { BOARDS_INDEX, boardKeys } from '../board/keys.js';
import type { Services } from '../services.js';
import type { GaugeSample, NodeMetrics } from './registry.js';
import { taskCounter } from './task-metrics.js';

/** Scrapes read at most this many boards' lock tables, so a scrape stays cheap. */
const MAX_BOARDS_SCANNED = 10_000;
const BATCH = 500;

/** A history service may report its persister's state as a flat record of numbers. */
interface StatsSource {
  stats?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
}

async function persisterStats(services: Services): Promise<GaugeSample | undefined> {
  const source = services.history as StatsSource | undefined;
  if (typeof source?.stats !== 'function') return undefined;
  const stats = await source.stats();
  return Object.entries(stats).flatMap(([stat, value]) =>
    typeof value === 'number' && Number.isFinite(value) ? [{ labels: { stat }, value }] : [],
  );
}

/**
 * Unexpired lock records in Redis, across the whole cluster (every node reports the
 * same number). Lock hashes are per board, so this walks the boards index.
 */
/** The boards a scrape looks at: the first ones of the boards index, so a scrape stays cheap. */
function scrapedBoards(services: Services): Promise<string[]> {
  return services.redis.zrangebylex(BOARDS_INDEX, '-', '+', 'LIMIT', 0, MAX_BOARDS_SCANNED);
}

/**
 * Unexpired lock records in Redis, across the whole cluster (every node reports the
 * same number). Lock hashes are per board, so this walks the boards index.
 */
async function locksHeld(services: Services, boards: readonly string[]): Promise<number> {
  const { redis } = services;
  const now = Date.now();
  let held = 0;
  // Separate commands, not one pipeline: on a Redis Cluster each board may be on another node.
  for (let i = 0; i < boards.length; i += BATCH) {
    const tables = await Promise.all(boards.slice(i, i + BATCH).map((board) => redis.hvals(boardKeys(board).locks)));
    // Record format "<token>:<expiresAtMs>:<holder>"; expired ones wait for the sweep.
    for (const records of tables) for (const record of records) if (Number(record.split(':', 2)[1]) > now) held++;
  }
  return held;
}

/** Gauges over state other modules own, read at scrape time; and Redis connection errors. */
export function stateMetrics(metrics: NodeMetrics, services: Services): () => void {
  metrics.gauge(
    'blackboard_history_persister',
    'State of the history persister as it reports it (lag, pending events, ...), by stat.',
    () => persisterStats(services),
    ['stat'],
  );
  metrics.gauge('blackboard_locks_held', 'Unexpired locks in Redis (all nodes; first 10,000 boards).', async () =>
    locksHeld(services, await scrapedBoards(services)),
  );
  const countTasks = taskCounter(services);
  metrics.gauge(
    'blackboard_tasks',
    'Tasks in Redis by state (all nodes; first 10,000 boards; failed includes cancelled).',
    async () => countTasks(await scrapedBoards(services)),
    ['state'],
  );
  const onRedisError = () => metrics.dependencyError('redis');
  services.redis.on('error', onRedisError);
  return () => services.redis.off('error', onRedisError);
}
