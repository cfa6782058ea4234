import { sql } from 'drizzle-orm';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect, it } from 'vitest';
import { createDb, createPool, isConnectionError } from '../../server/history/db.js';
import { databaseUrl } from '../helpers/pg-database.js';
import { freePort } from '../helpers/process-server.js';

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('the query succeeded');
    },
    (err: unknown) => err,
  );

describe('telling Postgres away from a bad statement', () => {
  it('a query drizzle ran against a Postgres nobody answers for is a connection failure, through drizzle’s wrapper', async () => {
    const pool = createPool({ url: databaseUrl('postgres', await freePort()), poolMax: 1, queryTimeoutMs: 2_000 });
    pool.on('error', () => undefined);
    try {
      const err = await failure(createDb(pool).execute(sql`SELECT 1`));
      // drizzle wraps pg's error ("Failed query: …"); pg's own is its cause.
      expect(err).toBeInstanceOf(DrizzleQueryError);
      expect((err as Error).message).toMatch(/^Failed query/);
      expect(isConnectionError(err)).toBe(true);
      expect(isConnectionError((err as Error).cause)).toBe(true);
      // Straight through pg too.
      expect(isConnectionError(await failure(pool.query('SELECT 1')))).toBe(true);
    } finally {
      await pool.end();
    }
  });

  it('a statement Postgres refuses is not, wrapped or not', async () => {
    const pool = createPool({ url: databaseUrl('postgres'), poolMax: 1, queryTimeoutMs: 2_000 });
    try {
      const err = await failure(createDb(pool).execute(sql`SELECT * FROM no_such_table_here`));
      expect(err).toBeInstanceOf(DrizzleQueryError);
      expect(isConnectionError(err)).toBe(false);
      expect(isConnectionError(await failure(pool.query('SELEC 1')))).toBe(false);
      expect(isConnectionError(null)).toBe(false);
    } finally {
      await pool.end();
    }
  });
});
