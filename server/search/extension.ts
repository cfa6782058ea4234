import pg from 'pg';
import type { Config } from '../config.js';
import type { Extension } from '../extension.js';
import { searchHandler } from './handler.js';
import { Searcher } from './searcher.js';

/** Time a search connection may wait for Postgres beyond the statement timeout itself. */
const POOL_GRACE_MS = 5_000;

/**
 * The `search` op. The index is written by the history persister (in the transaction of
 * the events); this extension only reads it, on a pool of its own, so that searches never
 * hold up the persister's connections.
 */
export function searchExtension(config: Config): Extension {
  let pool: pg.Pool | null = null;
  let searcher: Searcher | null = null;
  return {
    name: 'search',
    handlers: {
      search: searchHandler(
        () => searcher,
        () => Math.max(1, Math.floor(config.SEARCH_POOL_MAX / 2)),
      ),
    },
    init() {
      if (!config.HISTORY_ENABLED) return;
      pool = new pg.Pool({
        connectionString: config.DATABASE_URL,
        max: config.SEARCH_POOL_MAX,
        // Postgres cancels a search statement past the timeout; the client gives up a little later.
        statement_timeout: config.SEARCH_TIMEOUT_MS,
        query_timeout: config.SEARCH_TIMEOUT_MS + POOL_GRACE_MS,
        connectionTimeoutMillis: POOL_GRACE_MS,
        idleTimeoutMillis: 30_000,
        application_name: 'blackboard-search',
      });
      // A dropped connection must not crash the process; the next search reconnects.
      pool.on('error', () => undefined);
      pool.on('connect', (client) => client.on('error', () => undefined));
      searcher = new Searcher(pool, config.SEARCH_TIMEOUT_MS);
    },
    async stop() {
      searcher = null;
      await pool?.end().catch(() => undefined);
      pool = null;
    },
  };
}
