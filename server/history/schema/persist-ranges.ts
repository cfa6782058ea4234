import { bigint, pgTable, primaryKey } from 'drizzle-orm/pg-core';
import { byteText } from './columns.js';

/**
 * Revision ranges committed ahead of a board's watermark (persisters commit out of
 * order); the watermark absorbs them once the gap below is filled.
 */
export const persistRanges = pgTable(
  'persist_ranges',
  {
    board: byteText('board').notNull(),
    fromRev: bigint('from_rev', { mode: 'number' }).notNull(),
    toRev: bigint('to_rev', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ name: 'persist_ranges_pk', columns: [t.board, t.fromRev] })],
);
