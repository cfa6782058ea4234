import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import { CLUSTER_KEY } from '../board/keys.js';
import type { RedisClient } from '../board/scripts.js';
import { cluster } from './schema/index.js';

/**
 * A node's Redis and its Postgres history database belong to different deployments.
 * The nodes of one Redis share the streams' consumer group and the watermarks, so a
 * node persisting into another database would split the history between the two.
 * The message is the one line the process prints before it exits.
 */
export class ClusterSplit extends Error {
  constructor(
    readonly redisId: string,
    readonly databaseId: string,
    database: string,
  ) {
    super(
      `Redis belongs to cluster ${redisId} but database "${database}" holds the history of cluster ${databaseId}: ` +
        'every node on one Redis must use the same DATABASE_URL (refusing to start so as not to split history; ' +
        `if this database is meant to replace the old one, delete the Redis key ${CLUSTER_KEY})`,
    );
  }
}

/**
 * Records the deployment's identity in Postgres and in Redis at first start, and checks
 * that they agree ever after.
 *
 * Postgres is written first and read back (its one-row table decides among nodes of one
 * database starting together); Redis takes that id only if it has none. So a node with a
 * fresh database against a Redis already claimed by another database records an id of
 * its own, which cannot match, and a Redis that lost its data is claimed again by the
 * first node that starts (or recovers it) with its database.
 */
export async function claimClusterIdentity(redis: RedisClient, pool: pg.Pool, database: string): Promise<string> {
  const db = drizzle({ client: pool });
  await db.insert(cluster).values({ singleton: 1, clusterId: randomUUID() }).onConflictDoNothing({ target: cluster.singleton });
  const [row] = await db.select({ clusterId: cluster.clusterId }).from(cluster).where(eq(cluster.singleton, 1));
  const databaseId = row?.clusterId;
  if (!databaseId) throw new Error('the cluster table has no row after insert');
  await redis.set(CLUSTER_KEY, databaseId, 'NX');
  const redisId = await redis.get(CLUSTER_KEY);
  if (redisId !== databaseId) throw new ClusterSplit(redisId ?? '(none)', databaseId, database);
  return databaseId;
}
