import { bigint, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { byteText } from './columns.js';

/** The key records of one snapshot, as the board's kv hash holds them. */
export const snapshotKeys = pgTable(
  'snapshot_keys',
  {
    board: byteText('board').notNull(),
    snapRev: bigint('snap_rev', { mode: 'number' }).notNull(),
    key: byteText('key').notNull(),
    version: bigint('version', { mode: 'number' }).notNull(),
    createRev: bigint('create_rev', { mode: 'number' }).notNull(),
    modRev: bigint('mod_rev', { mode: 'number' }).notNull(),
    value: text('value').notNull(),
  },
  (t) => [primaryKey({ name: 'snapshot_keys_pk', columns: [t.board, t.snapRev, t.key] })],
);
