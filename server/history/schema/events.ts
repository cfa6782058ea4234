import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgTable, smallint, text, unique } from 'drizzle-orm/pg-core';
import { byteText } from './columns.js';

/**
 * The change log: one row per key per revision. The wire event is rebuilt from the
 * columns exactly as the commit script wrote it, so history and replay are byte-exact.
 */
export const events = pgTable(
  'events',
  {
    board: byteText('board').notNull(),
    rev: bigint('rev', { mode: 'number' }).notNull(),
    key: byteText('key').notNull(),
    /** Position of this key within its revision (a txn's op order). */
    pos: integer('pos').notNull(),
    /** 1 put, 0 delete. */
    type: smallint('type').notNull(),
    version: bigint('version', { mode: 'number' }).notNull(),
    /** The value's JSON text (puts). */
    value: text('value'),
    /** The RFC 6902 patch's JSON text, when the write was a patch. */
    patch: text('patch'),
    /** The actor as JSON text. */
    actor: text('actor').notNull(),
    ts: bigint('ts', { mode: 'number' }).notNull(),
    /** The event's JSON verbatim, only when the columns cannot reproduce it. */
    raw: text('raw'),
  },
  (t) => [
    unique('events_board_rev_key').on(t.board, t.rev, t.key),
    index('events_board_key_rev').on(t.board, t.key, t.rev),
    // A key's creation revision at any point of its life: one probe, however long the history.
    index('events_created').on(t.board, t.key, t.rev).where(sql`${t.version} = 1`),
  ],
);

export type EventRow = typeof events.$inferSelect;
