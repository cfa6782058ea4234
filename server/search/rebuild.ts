import type pg from 'pg';
import type { Logger } from 'pino';
import { applyIndexChanges, type IndexChange } from './index-writer.js';

/**
 * The layout the code writes. A migration that changes the index (or creates it) sets
 * `search_state.built_version` below this, and the next start rebuilds the index from
 * the events table before the persister runs.
 */
export const SEARCH_INDEX_VERSION = 1;

/** Keys read per page of a rebuild. */
const REBUILD_PAGE = 1_000;

interface LatestRow {
  key: string;
  rev: string;
  version: string;
  type: number;
  value: string | null;
}

/**
 * Rebuilds one board's index from its events: the newest event of every key, page by
 * page in key order, in one transaction holding the board's row, so no persister round
 * of that board commits meanwhile. `language`, when given, becomes the board's language
 * first. Returns how many keys are indexed.
 */
export async function rebuildBoardIndex(pool: pg.Pool, board: string, language?: string): Promise<number> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT 1 FROM boards WHERE name = $1 FOR UPDATE', [board]);
      if (language !== undefined) {
        await client.query(
          `INSERT INTO search_boards (board, language) VALUES ($1, $2::regconfig)
           ON CONFLICT (board) DO UPDATE SET language = excluded.language`,
          [board, language],
        );
      }
      await client.query('DELETE FROM search_docs WHERE board = $1', [board]);
      await client.query('DELETE FROM search_words WHERE board = $1', [board]);
      let after = '';
      let indexed = 0;
      for (;;) {
        const { rows } = await client.query<LatestRow>(
          `SELECT DISTINCT ON (key) key, rev, version, type, value FROM events
           WHERE board = $1 AND key > $2 ORDER BY key, rev DESC LIMIT $3`,
          [board, after, REBUILD_PAGE],
        );
        const changes: IndexChange[] = rows
          .filter((r) => Number(r.type) === 1)
          .map((r) => ({ board, key: r.key, rev: Number(r.rev), version: Number(r.version), value: r.value ?? 'null' }));
        await applyIndexChanges(client, changes);
        indexed += changes.length;
        if (rows.length < REBUILD_PAGE) break;
        after = rows.at(-1)!.key;
      }
      await client.query('COMMIT');
      return indexed;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    }
  } finally {
    client.release(broken);
  }
}

/** Rebuilds the index of the named boards (default: every board Postgres knows). */
export async function rebuildIndex(pool: pg.Pool, log: Logger, boards?: readonly string[]): Promise<{ boards: number; keys: number }> {
  let names = boards;
  if (names === undefined) {
    const { rows } = await pool.query<{ name: string }>('SELECT name FROM boards ORDER BY name');
    names = rows.map((r) => r.name);
  }
  let keys = 0;
  for (const board of names) {
    const n = await rebuildBoardIndex(pool, board);
    keys += n;
    log.info({ board, keys: n }, 'search index rebuilt');
  }
  return { boards: names.length, keys };
}

/**
 * Run by the migration step (under its advisory lock): when the index's layout is older
 * than the code's, rebuild it from the events table and record the new layout.
 */
export async function ensureSearchIndex(pool: pg.Pool, log: Logger | undefined): Promise<void> {
  const { rows } = await pool.query<{ built_version: number }>('SELECT built_version FROM search_state WHERE id = 1');
  if ((rows[0]?.built_version ?? 0) >= SEARCH_INDEX_VERSION) return;
  const quiet = { info: () => undefined } as unknown as Logger;
  const done = await rebuildIndex(pool, log ?? quiet);
  await pool.query(
    `INSERT INTO search_state (id, built_version) VALUES (1, $1)
     ON CONFLICT (id) DO UPDATE SET built_version = excluded.built_version`,
    [SEARCH_INDEX_VERSION],
  );
  log?.info(done, 'search index built from the events table');
}
