import {
  BaseCheckpointSaver,
  getCheckpointId,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from '@langchain/langgraph-checkpoint';
import type { RunnableConfig } from '@langchain/core/runnables';
import type { BlackboardClient } from '../sdk/index.js';
import type { SaverContext } from './context.js';
import { LangGraphBoardError, LangGraphErrorCode } from './errors.js';
import { ThreadKeys, checkRoot } from './keys.js';
import { listTuples } from './saver-list.js';
import { putCheckpoint, threadOf } from './saver-put.js';
import { readById, readLatest } from './saver-read.js';
import { deleteThreadKeys, putPendingWrites } from './saver-writes.js';
import { ThreadViews } from './thread-view.js';
import { nextChannelVersion } from './versions.js';

export type Durability = 'memory' | 'durable';

export interface BlackboardSaverOptions {
  client: BlackboardClient;
  board: string;
  /**
   * `durable` (the default): a put is acknowledged once Postgres holds it (the server
   * needs history); `memory`: once Redis does.
   */
  durability?: Durability;
  /** Durability of pending writes (default: `durability`). */
  writesDurability?: Durability;
  /** Keep only the last N checkpoints of each (thread, namespace), pruned on put (1–100; default: keep all). */
  keep?: number;
  /** First segment(s) of every key the saver writes (default `lg`). */
  keyPrefix?: string;
  /** The server's MAX_VALUE_BYTES (default 256 KiB): larger channel values are split into parts. */
  maxValueBytes?: number;
  serde?: SerializerProtocol;
}

export const MAX_KEEP = 100;

/**
 * A LangGraph checkpointer on a Blackboard board (docs/langgraph.md). Checkpoints are
 * board keys, so a run is visible live, kept in history, and fenced: each (thread,
 * namespace) has a head key whose version every put compares, so two processes resuming
 * one thread cannot both advance it (the loser gets `ThreadAdvancedError`).
 */
export class BlackboardSaver extends BaseCheckpointSaver {
  private readonly ctx: SaverContext;
  private readonly durability: Durability;
  private readonly writesDurability: Durability;
  private readonly keep: number | undefined;

  constructor(options: BlackboardSaverOptions) {
    super(options.serde);
    if (options.keep !== undefined && (!Number.isInteger(options.keep) || options.keep < 1 || options.keep > MAX_KEEP)) {
      throw new LangGraphBoardError(LangGraphErrorCode.INVALID_CONFIG, `keep must be an integer from 1 to ${MAX_KEEP}`, { keep: options.keep });
    }
    this.durability = options.durability ?? 'durable';
    this.writesDurability = options.writesDurability ?? this.durability;
    this.keep = options.keep;
    this.ctx = {
      client: options.client,
      board: options.board,
      root: checkRoot(options.keyPrefix ?? 'lg'),
      serde: this.serde,
      views: new ThreadViews(10_000),
      limits: { maxValueBytes: options.maxValueBytes ?? 256 * 1024 },
    };
  }

  /** The keys of one (thread, namespace), for tools that read the board directly. */
  keysOf(threadId: string, checkpointNs = ''): ThreadKeys {
    return new ThreadKeys(this.ctx.root, threadId, checkpointNs);
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId: unknown = config.configurable?.thread_id;
    if (threadId === undefined || threadId === null || threadId === '') return undefined;
    const { checkpointNs } = threadOf(config, 'getTuple');
    const keys = new ThreadKeys(this.ctx.root, String(threadId), checkpointNs);
    const checkpointId = getCheckpointId(config);
    return checkpointId ? readById(this.ctx, keys, checkpointId) : readLatest(this.ctx, keys);
  }

  list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    return listTuples(this.ctx, config, options);
  }

  put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    return putCheckpoint(this.ctx, { durability: this.durability, keep: this.keep }, config, checkpoint, metadata, newVersions);
  }

  putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    return putPendingWrites(this.ctx, this.writesDurability, config, writes, taskId, taskPath);
  }

  deleteThread(threadId: string): Promise<void> {
    return deleteThreadKeys(this.ctx, this.durability, threadId);
  }

  /** Ordered, and distinct per writer (see versions.ts): racing writers never share a channel key. */
  override getNextVersion(current: number | undefined): number {
    return nextChannelVersion(current);
  }
}
