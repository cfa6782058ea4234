import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDb, createPool, ensureDatabase, migrateDb, type HistoryDb } from '../../server/history/db.js';

const BASE_URL = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/blackboard';

export function databaseUrl(name: string, port?: number): string {
  const u = new URL(BASE_URL);
  u.pathname = `/${name}`;
  if (port !== undefined) {
    u.hostname = '127.0.0.1';
    u.port = String(port);
  }
  return u.toString();
}

/** A database of its own for one test file (the server creates it on start); dropped on dispose. */
export interface TestDatabase extends AsyncDisposable {
  name: string;
  url: string;
  /** A client on it, for assertions. */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

export function testDatabase(prefix = 'bbtest'): TestDatabase {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const url = databaseUrl(name);
  let pool: pg.Pool | null = null;
  const drop = async () => {
    await pool?.end().catch(() => undefined);
    pool = null;
    const admin = new pg.Client({ connectionString: databaseUrl('postgres') });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  };
  return {
    name,
    url,
    async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
      if (!pool) {
        pool = new pg.Pool({ connectionString: url, max: 2 });
        // The database is dropped with its connections forced closed: that is no test failure.
        pool.on('error', () => undefined);
        pool.on('connect', (client) => client.on('error', () => undefined));
      }
      return (await pool.query<R>(text, values)).rows;
    },
    drop,
    [Symbol.asyncDispose]: drop,
  };
}

/** A database of its own with the history schema migrated, and the server's pool and drizzle handle on it. */
export interface HistoryTestDatabase {
  database: TestDatabase;
  pool: pg.Pool;
  db: HistoryDb;
  close(): Promise<void>;
}

export async function migratedHistoryDatabase(queryTimeoutMs = 30_000): Promise<HistoryTestDatabase> {
  const database = testDatabase();
  await ensureDatabase(database.url, 5_000);
  const pool = createPool({ url: database.url, poolMax: 2, queryTimeoutMs });
  const db = createDb(pool);
  await migrateDb(pool, db);
  return {
    database,
    pool,
    db,
    async close() {
      await pool.end();
      await database.drop();
    },
  };
}
