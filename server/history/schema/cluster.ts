import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The identity of the deployment whose history this database holds (one row). The same
 * id is kept in Redis (`bb:cluster`): a node whose Redis and Postgres disagree would split
 * one history between two databases, so it refuses to start.
 */
export const cluster = pgTable('cluster', {
  /** Always 1: the table holds one row. */
  singleton: integer('singleton').primaryKey().default(1),
  clusterId: text('cluster_id').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
