import { eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import type { Logger } from 'pino';
import { keyStateOfRow, liveKeysStatement, type KeyRecordRow } from '../history/repo.js';
import { boards, searchBoards, searchDocs, searchState, searchWords } from '../history/schema/index.js';
import { applyIndexChanges, type IndexChange } from './index-writer.js';

/**
 * The layout the code writes. A migration that changes the index (or creates it) sets
 * `search_state.built_version` below this, and the next start rebuilds the index from
 * the events table before the persister runs.
 */
const SEARCH_INDEX_VERSION = 1;

/** Keys read per page of a rebuild. */
const REBUILD_PAGE = 1_000;

/**
 * Rebuilds one board's index from its events: the newest put of every live key, page by
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
      const tx = drizzle({ client });
      await tx.select({ name: boards.name }).from(boards).where(eq(boards.name, board)).for('update');
      if (language !== undefined) {
        await tx
          .insert(searchBoards)
          .values({ board, language: sql`${language}::regconfig` })
          .onConflictDoUpdate({ target: searchBoards.board, set: { language: sql`excluded.language` } });
      }
      await tx.delete(searchDocs).where(eq(searchDocs.board, board));
      await tx.delete(searchWords).where(eq(searchWords.board, board));
      let after: string | null = null;
      let indexed = 0;
      for (;;) {
        // Key by key through the index: a page costs its keys, not the history of every key after it.
        const { rows }: { rows: KeyRecordRow[] } = await tx.execute<KeyRecordRow>(liveKeysStatement(board, '', after, Number.MAX_SAFE_INTEGER, REBUILD_PAGE));
        const changes: IndexChange[] = rows.map(keyStateOfRow).map((k) => ({ board, key: k.key, rev: k.modRev, version: k.version, value: k.value }));
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
export async function rebuildIndex(pool: pg.Pool, log: Logger, only?: readonly string[]): Promise<{ boards: number; keys: number }> {
  let names = only;
  if (names === undefined) {
    const rows = await drizzle({ client: pool }).select({ name: boards.name }).from(boards).orderBy(boards.name);
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
  const db = drizzle({ client: pool });
  const [state] = await db.select({ builtVersion: searchState.builtVersion }).from(searchState).where(eq(searchState.id, 1));
  if ((state?.builtVersion ?? 0) >= SEARCH_INDEX_VERSION) return;
  const quiet = { info: () => undefined } as unknown as Logger;
  const done = await rebuildIndex(pool, log ?? quiet);
  await db
    .insert(searchState)
    .values({ id: 1, builtVersion: SEARCH_INDEX_VERSION })
    .onConflictDoUpdate({ target: searchState.id, set: { builtVersion: SEARCH_INDEX_VERSION } });
  log?.info(done, 'search index built from the events table');
}
