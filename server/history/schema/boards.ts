import { bigint, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { byteText } from './columns.js';

/** One row per board that has history: its epoch and how far Postgres holds it. */
export const boards = pgTable('boards', {
  name: byteText('name').primaryKey(),
  /** The lifetime of the board's hot state that Postgres currently accepts events from. */
  epoch: text('epoch').notNull(),
  /** The revision where that epoch began. */
  epochRev: bigint('epoch_rev', { mode: 'number' }).notNull().default(0),
  /** Every revision up to this one is in `events` (the contiguous watermark). */
  persistedRev: bigint('persisted_rev', { mode: 'number' }).notNull().default(0),
  /** The highest revision known to have existed in Redis in this epoch (loss detection). */
  seenRev: bigint('seen_rev', { mode: 'number' }).notNull().default(0),
  /** The first revision history holds (earlier ones predate history on this board). */
  firstRev: bigint('first_rev', { mode: 'number' }).notNull().default(1),
  /** The revision of the newest snapshot claimed for this board. */
  snapshotRev: bigint('snapshot_rev', { mode: 'number' }).notNull().default(0),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export type BoardRow = typeof boards.$inferSelect;
