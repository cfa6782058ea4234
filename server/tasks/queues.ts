import { randomUUID } from 'node:crypto';
import { Job, type JobJson, type JobsOptions, Queue, type RedisQueueBackend } from 'bullmq';
import type { Redis } from 'ioredis';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { RedisClient } from '../board/scripts.js';
import { jobKeys, mirrorKeys, queuePrefix, taskIndexKey, boardKvKey } from './keys.js';

/** Backoff between retries: exponential, `backoffMs × 2^(failures − 1)`. */
const DEFAULT_ATTEMPTS = 3;
const DEFAULT_BACKOFF_MS = 1_000;
const MAX_OPEN_QUEUES = 1_000;
/** The keys of each BullMQ add script a task can take. */
const ADD_KEY_COUNTS: Readonly<Record<string, number>> = { addStandardJob: 9, addPrioritizedJob: 9, addDelayedJob: 6 };

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

  /** The options a task's job is added with (in the order a BullMQ Job holds them, `attempts` first). */
  private jobOptions(req: EnqueueRequest, taskId: string): JobsOptions {
    return {
      attempts: req.attempts ?? DEFAULT_ATTEMPTS,
      jobId: taskId,
      backoff: { type: 'exponential', delay: req.backoffMs ?? DEFAULT_BACKOFF_MS },
      ...(req.recreating ? { delay: 3_600_000 } : req.delayMs ? { delay: req.delayMs } : {}),
      ...(req.priority ? { priority: req.priority } : {}),
      stackTraceLimit: 0,
      removeOnComplete: false,
      removeOnFail: false,
    };
  }

  /**
   * What `Queue.add(name, data)` would send Redis for this task's job, without sending
   * it: which of BullMQ's add scripts, with its keys and args (so a script of ours can run
   * it in the same step as its own work). BullMQ's backend builds them itself (it encodes
   * the options, picks the script and orders its keys), through a client that only takes
   * them down. It is handed the fields `Job.addJob` would hand it, without building a Job
   * object for them: the options are ours (`jobOptions`, bounded by the frame schema as
   * BullMQ's own checks would) and the data is JSON text, which BullMQ stores stringified.
   */
  async addCall(req: EnqueueRequest & { taskId: string }, name: string): Promise<{ script: string; keys: string[]; args: Array<string | Buffer> }> {
    let taken: { script: string; keys: string[]; args: Array<string | Buffer> } | null = null;
    const backend = (this.get(req.board, req.queue) as unknown as { backend: RedisQueueBackend }).backend;
    const takeDown = {
      runCommand(command: string, list: Array<string | Buffer>) {
        const script = command.split(':')[0] ?? '';
        const count = ADD_KEY_COUNTS[script];
        if (count === undefined) throw new Error(`BullMQ adds this job with ${script}, which tasks do not use`);
        taken = { script, keys: list.slice(0, count) as string[], args: list.slice(count) };
        return Promise.resolve(req.taskId);
      },
    };
    const job = { name, data: JSON.stringify(req.dataText), opts: this.jobOptions(req, req.taskId), timestamp: Date.now() };
    await backend.addJobToTransaction(takeDown as never, job as unknown as JobJson, req.taskId);
    if (!taken) throw new Error('BullMQ added no job');
    return taken;
  }

  /**
   * Adds a task unless the board already has one with this id; `created` says which.
   * (A task enqueued by a client is added by TaskService.enqueue, in one script with its
   * mirror; this is re-creation's way, whose mirror exists.)
   */
  async enqueue(req: EnqueueRequest): Promise<{ taskId: string; created: boolean }> {
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
    const job = await this.get(req.board, req.queue).add(nonce, req.dataText, this.jobOptions(req, taskId));
    const made = (await this.redis.hget(jobKeys(req.board, req.queue, job.id ?? taskId).job, 'name')) === nonce;
    return { taskId, created: made };
  }

  async close(): Promise<void> {
    const queues = [...this.open.values()];
    this.open.clear();
    await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
  }
}
