import { randomUUID } from 'node:crypto';
import { Job, type JobsOptions, optsDecodeMap, raw2NextJobData, type RedisQueueBackend, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { queuePrefix } from './keys.js';
import type { RemoteWorker } from './remote-workers.js';

export interface PumpHost {
  /** Hands a job BullMQ just locked with `token` to `target`, whose slot is already reserved (and freed by this). */
  deliver(pump: QueuePump, job: Job, token: string, target: RemoteWorker): Promise<void>;
  /** BullMQ's stalled check (run by every node with workers on the queue) took a job back. */
  stalled(board: string, queue: string, taskId: string): void;
}

const RETRY_AFTER_ERROR_MS = 1_000;
/** Most fetches in flight at once for one queue on one node, when it has jobs and free slots. */
const MAX_FETCHES_AT_ONCE = 16;

/**
 * Takes jobs of one board's queue for the remote workers of this node, with BullMQ's
 * manual processing: `getNextJob(token)`, each with a fresh token, only while some worker
 * has a free slot; one blocking fetch waits while the queue is empty, and once a job comes
 * the other free slots are filled by fetches sent together (1, 2, 4… while they find jobs).
 * It also runs BullMQ's stalled check, which takes back jobs whose lock lapsed on a node
 * that died.
 */
export class QueuePump {
  readonly workers = new Set<RemoteWorker>();
  private readonly bull: Worker;
  private wakeUp: (() => void) | null = null;
  private closing: Promise<void> | null = null;
  private rotation = 0;

  constructor(
    readonly board: string,
    readonly queue: string,
    connection: Redis,
    stallCheckMs: number,
    private readonly host: PumpHost,
    private readonly log: Logger,
  ) {
    this.bull = new Worker(queue, null, {
      connection,
      prefix: queuePrefix(board),
      autorun: false,
      // The lock a fetch takes before task-activate sets the worker's own lease.
      lockDuration: 30_000,
      stalledInterval: stallCheckMs,
      // Losses are counted and limited by task-activate (MAX_TASK_LOSSES), not here.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      drainDelay: 5,
    });
    this.bull.on('error', (err) => this.log.warn({ err: err.message, board, queue }, 'task queue error'));
    this.bull.on('stalled', (jobId) => this.host.stalled(board, queue, String(jobId)));
  }

  start(): void {
    void this.bull.startStalledCheckTimer();
    void this.loop();
  }

  hasCapacity(): boolean {
    for (const w of this.workers) if (w.free > 0) return true;
    return false;
  }

  /** The worker with the most free slots (ties in turn), if any has one. */
  pick(): RemoteWorker | undefined {
    let best: RemoteWorker | undefined;
    const list = [...this.workers];
    for (let i = 0; i < list.length; i++) {
      const w = list[(i + this.rotation) % list.length]!;
      if (w.free > 0 && (!best || w.free > best.free)) best = w;
    }
    this.rotation++;
    return best;
  }

  /** A job a completion fetched for this queue, from its fields as Redis gave them. */
  fetched(jobId: string, fields: unknown): FetchedJob {
    return new FetchedJob(this.bull, jobId, fields as string[]);
  }

  /** BullMQ's backend of this queue's jobs, which builds the args of their scripts. */
  get backend(): RedisQueueBackend {
    return (this.bull as unknown as { backend: RedisQueueBackend }).backend;
  }

  wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = null;
    wake?.();
  }

  /** Free slots over all of this queue's workers on this node. */
  private freeSlots(): number {
    let free = 0;
    for (const w of this.workers) free += Math.max(0, w.free);
    return free;
  }

  private async loop(): Promise<void> {
    while (!this.closing) {
      if (!this.hasCapacity()) {
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        continue;
      }
      const token = randomUUID();
      let job: Job | undefined;
      try {
        // Blocks (on BullMQ's marker) only when the queue was found empty.
        job = await this.bull.getNextJob(token, { block: true });
      } catch (err) {
        if (this.closing) break;
        this.log.warn({ err: (err as Error).message, board: this.board, queue: this.queue }, 'taking a task failed');
        await new Promise((r) => setTimeout(r, RETRY_AFTER_ERROR_MS));
        continue;
      }
      if (!job) continue;
      await this.hand(job, token);
      await this.fillFreeSlots();
    }
  }

  /**
   * The queue had a job: fetches for the other free slots, 1, 2, 4… at once (each fetch its
   * own round trip, but in flight together) while every fetch finds one. A fetch that finds
   * the queue empty ends it, so a trickle of tasks costs one empty fetch per task, as
   * fetching one after another did.
   */
  private async fillFreeSlots(): Promise<void> {
    for (let width = 1; !this.closing; width = Math.min(width * 2, MAX_FETCHES_AT_ONCE)) {
      const n = Math.min(this.freeSlots(), width);
      if (n <= 0) return;
      const found = await Promise.all(Array.from({ length: n }, () => this.fetchWithoutBlocking()));
      if (found.includes(false)) return;
    }
  }

  /** One fetch that does not wait for a job; whether it found one. */
  private async fetchWithoutBlocking(): Promise<boolean> {
    const token = randomUUID();
    let job: Job | undefined;
    try {
      job = await this.bull.getNextJob(token, { block: false });
    } catch (err) {
      if (!this.closing) this.log.warn({ err: (err as Error).message, board: this.board, queue: this.queue }, 'taking a task failed');
      return false;
    }
    if (!job) return false;
    await this.hand(job, token);
    return true;
  }

  /** Hands a job just taken with `token` to the worker with the most free slots. */
  private async hand(job: Job, token: string): Promise<void> {
    const target = this.pick();
    if (!target) {
      // Its worker left while the job was on its way: back to the front of the queue.
      await job.moveToWait(token).catch(() => undefined);
      return;
    }
    // The slot is taken now, so the next fetch can start while this delivery completes.
    target.reserved++;
    this.host.deliver(this, job, token, target).catch((err: unknown) => {
      this.log.error({ err, board: this.board, queue: this.queue, taskId: job.id }, 'delivering a task failed');
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.wake();
      await this.bull.close(true).catch(() => undefined);
    })();
    return this.closing;
  }
}

/**
 * A job task-finish fetched and delivered, as Redis gave its fields. Most such jobs are
 * only completed, which needs their id and options, so the BullMQ Job object (its calls go
 * through the pump's connection) is built when a call first needs it: a failure, a loss.
 */
export class FetchedJob {
  private built: Job | null = null;
  /** The task's data as JSON text (BullMQ stores the text stringified). */
  readonly dataText: string;
  /** The job's options, decoded as BullMQ decodes them. */
  readonly opts: JobsOptions;

  constructor(
    private readonly worker: Worker,
    readonly id: string,
    private readonly fields: string[],
  ) {
    let data = '';
    let opts = '';
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'data') data = fields[i + 1]!;
      else if (fields[i] === 'opts') opts = fields[i + 1]!;
    }
    const value: unknown = JSON.parse(data || '{}');
    this.dataText = typeof value === 'string' ? value : JSON.stringify(value ?? null);
    const decoded: Record<string, unknown> = {};
    const names = optsDecodeMap as Record<string, string>;
    for (const [name, v] of Object.entries(JSON.parse(opts || '{}') as Record<string, unknown>)) decoded[names[name] ?? name] = v;
    this.opts = decoded as JobsOptions;
  }

  get job(): Job {
    if (!this.built) {
      const [json] = raw2NextJobData([this.fields, this.id, 0, 0]);
      this.built = Job.fromJSON(this.worker, json!, this.id);
    }
    return this.built;
  }
}
