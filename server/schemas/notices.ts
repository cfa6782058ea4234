import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { SCHEMA_CHANNEL } from '../board/keys.js';
import type { RedisClient } from '../board/scripts.js';
import { connectRedis, sentinelOf } from '../redis.js';

/**
 * Change notices between nodes: a node that registers a schema publishes the board's
 * name, and every node drops its cached rules for that board at once rather than when
 * they expire. A notice lost while a connection was down costs only that expiry time.
 */
export class SchemaNotices {
  private subscriber: RedisClient | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly onChange: (board: string) => void,
    private readonly log: Logger,
  ) {}

  async start(config: Config): Promise<void> {
    const subscriber = await connectRedis(config.REDIS_URL, this.log, 'schema-notices', true, config.REDIS_CLUSTER_NODES, sentinelOf(config));
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, board: string) => {
      if (channel === SCHEMA_CHANNEL) this.onChange(board);
    });
    await subscriber.subscribe(SCHEMA_CHANNEL);
  }

  /** Tells every node (this one included, at once) that a board's schemas changed. */
  async announce(board: string): Promise<void> {
    this.onChange(board);
    try {
      await this.redis.publish(SCHEMA_CHANNEL, board);
    } catch (err) {
      this.log.warn({ err, board }, 'schema change notice not sent; other nodes see it when their cache expires');
    }
  }

  stop(): void {
    this.subscriber?.disconnect();
    this.subscriber = null;
  }
}
