import { bigint, pgTable, primaryKey, timestamp } from 'drizzle-orm/pg-core';
import { byteText } from './columns.js';

/** A complete snapshot of a board at one revision; written after its keys, so a row means complete. */
export const snapshots = pgTable(
  'snapshots',
  {
    board: byteText('board').notNull(),
    rev: bigint('rev', { mode: 'number' }).notNull(),
    keyCount: bigint('key_count', { mode: 'number' }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'snapshots_pk', columns: [t.board, t.rev] })],
);
