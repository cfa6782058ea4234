import { randomUUID } from 'node:crypto';
import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { RedisClient } from '../board/scripts.js';
import { jobKeys, mirrorKeys, queuePrefix, taskIndexKey, boardKvKey } from './keys.js';

/** Backoff between retries: exponential, `backoffMs × 2^(failures − 1)`. */
export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_MS = 1_000;
const MAX_OPEN_QUEUES = 1_000;

export interface EnqueueRequest {
  board: string;
  queue: string;
  taskId?: string | undefined;
  /** The task's data as JSON text. */
  dataText: string;
  attempts?: number | undefined;
  backoffMs?: number | undefined;
  delayMs?: number | undefined;
  priority?: number | undefined;
  /**
   * Re-creation from the board: the mirror is expected to exist, and the job is added
   * held back (delayed) so its fields can be set before anyone takes it.
   */
  recreating?: boolean;
}

/**
 * BullMQ queues of this node, one per board and queue name, sharing one connection.
 * Job data and results are stored as JSON text (a string to BullMQ), so every value
 * comes back with every digit.
 */
export class TaskQueues {
  private readonly open = new Map<string, Queue>();

  constructor(private readonly redis: RedisClient) {}

  get(board: string, queue: string): Queue {
    const key = `${board}\n${queue}`;
    const hit = this.open.get(key);
    if (hit) {
      // Refresh its place: the map is kept in least-recently-used order.
      this.open.delete(key);
      this.open.set(key, hit);
      return hit;
    }
    if (this.open.size >= MAX_OPEN_QUEUES) {
      const [oldestKey, oldest] = this.open.entries().next().value as [string, Queue];
      this.open.delete(oldestKey);
      void oldest.close().catch(() => undefined);
    }
    const created = new Queue(queue, { connection: this.redis as Redis, prefix: queuePrefix(board) });
    created.on('error', () => undefined);
    this.open.set(key, created);
    return created;
  }

  async job(board: string, queue: string, taskId: string): Promise<Job | undefined> {
    return Job.fromId(this.get(board, queue), taskId);
  }

  /** The queue a task id belongs to on a board, or null. */
  async queueOf(board: string, taskId: string): Promise<string | null> {
    return this.redis.hget(taskIndexKey(board), taskId);
  }

  /**
   * Adds a task unless the board already has one with this id; `created` says which.
   * `added(taskId, nonce)` tells whether the add made the job (it got the name `nonce`);
   * by default it reads the job's name.
   */
  async enqueue(
    req: EnqueueRequest,
    added: (taskId: string, nonce: string) => Promise<boolean> = async (id, nonce) =>
      (await this.redis.hget(jobKeys(req.board, req.queue, id).job, 'name')) === nonce,
  ): Promise<{ taskId: string; created: boolean }> {
    const taskId = req.taskId ?? randomUUID();
    const index = taskIndexKey(req.board);
    const claimed = await this.redis.hsetnx(index, taskId, req.queue);
    if (claimed === 0) {
      const owner = await this.redis.hget(index, taskId);
      if (owner !== null && owner !== req.queue) {
        throw new BlackboardError(ErrorCode.CONFLICT, `task ${taskId} already exists in queue ${owner}`, {
          taskId,
          queue: owner,
        });
      }
      // A finished task whose job BullMQ has since removed still exists on the board.
      const keys = jobKeys(req.board, req.queue, taskId);
      const [jobExists, mirrored] = await Promise.all([
        this.redis.exists(keys.job),
        this.redis.hexists(boardKvKey(req.board), mirrorKeys(req.queue, taskId).status),
      ]);
      if (jobExists === 0 && mirrored === 1 && !req.recreating) return { taskId, created: false };
    }
    // BullMQ keeps the first job of an id; a nonce as its name tells whether this call made it.
    const nonce = randomUUID();
    const job = await this.get(req.board, req.queue).add(nonce, req.dataText, {
      jobId: taskId,
      attempts: req.attempts ?? DEFAULT_ATTEMPTS,
      backoff: { type: 'exponential', delay: req.backoffMs ?? DEFAULT_BACKOFF_MS },
      ...(req.recreating ? { delay: 3_600_000 } : req.delayMs ? { delay: req.delayMs } : {}),
      ...(req.priority ? { priority: req.priority } : {}),
      stackTraceLimit: 0,
      removeOnComplete: false,
      removeOnFail: false,
    });
    return { taskId, created: await added(job.id ?? taskId, nonce) };
  }

  async close(): Promise<void> {
    const queues = [...this.open.values()];
    this.open.clear();
    await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
  }
}
