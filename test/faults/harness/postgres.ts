import pg from 'pg';
import { databaseUrl, testDatabase, type TestDatabase } from '../../helpers/pg-database.js';

export type { TestDatabase };

/** A database of the scenario's own (random name); the server creates it on start, dispose drops it. */
export function scenarioDatabase(): TestDatabase {
  return testDatabase('bbfault');
}

/**
 * Terminates every backend connected to the scenario's database (never any other one).
 * Returns how many `pg_terminate_backend` calls answered true: the proof it fired.
 */
export async function terminateBackends(database: TestDatabase): Promise<number> {
  const admin = new pg.Client({ connectionString: databaseUrl('postgres') });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    const { rows } = await admin.query<{ terminated: boolean }>(
      'SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database.name],
    );
    return rows.filter((r) => r.terminated).length;
  } finally {
    await admin.end().catch(() => undefined);
  }
}
