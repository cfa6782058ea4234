import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type { Logger } from 'pino';
import * as schema from './schema/index.js';
import { ensureSearchIndex } from '../search/rebuild.js';

/** Drizzle over the pool; `$client` is the pool itself, for what drizzle does not do (COPY). */
export type HistoryDb = NodePgDatabase<typeof schema> & { $client: pg.Pool };

const migrationsFolder = join(dirname(fileURLToPath(import.meta.url)), 'migrations');
/** Any constant will do: every node takes the same lock, so migrations run one node at a time. */
const MIGRATION_LOCK = 0x62625f68; // "bb_h"

interface PgOptions {
  url: string;
  poolMax: number;
  /** How long one statement may run before the client gives up on it. */
  queryTimeoutMs: number;
}

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(name)}`;
  return u.toString();
}

/** Creates the database named in the URL when it does not exist (nodes racing to do so is fine). */
export async function ensureDatabase(url: string, timeoutMs: number): Promise<void> {
  const name = databaseName(url);
  const admin = new pg.Client({ connectionString: withDatabase(url, 'postgres'), connectionTimeoutMillis: timeoutMs });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      const quoted = `"${name.replace(/"/g, '""')}"`;
      await admin.query(`CREATE DATABASE ${quoted}`).catch((err: { code?: string }) => {
        // 42P04: created meanwhile by another node; 23505: the same race seen from the catalog.
        if (err.code !== '42P04' && err.code !== '23505') throw err;
      });
    }
  } finally {
    await admin.end().catch(() => undefined);
  }
}

export function createPool(options: PgOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    connectionTimeoutMillis: Math.min(options.queryTimeoutMs, 5_000),
    query_timeout: options.queryTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'blackboard',
    // Short statements, each planned for the rows it touches: compiling one with LLVM (which
    // Postgres does past a cost estimate, and a wrong estimate on a fast-growing table gets
    // there) took seconds where running it takes milliseconds.
    options: '-c jit=off',
  });
  // A dropped connection must not crash the process: an idle one is reported on the pool,
  // a checked-out one on its client (its query fails on its own); the next query reconnects.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

export function createDb(pool: pg.Pool): HistoryDb {
  return drizzle(pool, { schema });
}

/**
 * Applies the committed migrations, one node at a time (session-level advisory lock),
 * then builds the search index from the events table if a migration asked for it.
 */
export async function migrateDb(pool: pg.Pool, db: HistoryDb, log?: Logger): Promise<void> {
  const lockClient = await pool.connect();
  try {
    await lockClient.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await migrate(db, { migrationsFolder });
      await ensureSearchIndex(pool, log);
    } finally {
      await lockClient.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    lockClient.release();
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const NETWORK_MESSAGE = /connection terminated|timeout exceeded|query read timeout|connection error|not queryable|ended the connection/i;

/**
 * True when an error from `pg` means Postgres could not be reached (as opposed to a bad
 * statement). drizzle wraps the error of a query it ran (`DrizzleQueryError`, "Failed query:
 * …") with pg's error as its `cause`: the causes are looked through (a few levels).
 */
export function isConnectionError(err: unknown): boolean {
  for (let depth = 0; depth < 4 && err !== null && typeof err === 'object'; depth++) {
    const { code, message, cause } = err as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      // 08: connection exceptions; 57P: operator intervention (shutdown, crash); 53: resources.
      return code.startsWith('08') || code.startsWith('57P') || code.startsWith('53');
    }
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (typeof message === 'string' && NETWORK_MESSAGE.test(message)) return true;
    err = cause;
  }
  return false;
}

export { databaseName };
