import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { TaskPush } from '../../shared/protocol/types.js';
import type { ClientCore } from './requester.js';

export interface EnqueueOptions {
  taskId?: string;
  attempts?: number;
  backoffMs?: number;
  delayMs?: number;
  priority?: number;
}

export interface WorkOptions {
  concurrency?: number;
  /** The server takes a task back after this long without a heartbeat (default 30 s); heartbeats go every leaseMs/3. */
  leaseMs?: number;
  /** Told about failures the worker cannot hand back (a complete that was FENCED, a lost connection). */
  onError?(err: unknown, taskId: string): void;
}

export interface TaskContext<C = unknown> {
  readonly board: string;
  readonly queue: string;
  readonly taskId: string;
  readonly attempt: number;
  /** The last checkpoint saved (by this delivery or an earlier one), or null. */
  readonly checkpoint: C | null;
  /** Aborted when the task is cancelled or this worker lost it (lease lapsed, connection lost, FENCED). */
  readonly signal: AbortSignal;
  /** Saves the state to resume from; resolves with the checkpoint's sequence number. */
  saveCheckpoint(state: C, progress?: number): Promise<number>;
  /** Reports progress (0–100) with a heartbeat. */
  progress(n: number): Promise<void>;
}

export type TaskHandler<D = unknown, R = unknown, C = unknown> = (task: D, ctx: TaskContext<C>) => Promise<R> | R;

/** Throw it from a handler to fail the task without a retry. */
export class PermanentTaskError extends Error {
  override name = 'PermanentTaskError';
}

/** Why a task's signal was aborted. */
export class TaskAbortedError extends Error {
  override name = 'TaskAbortedError';
  constructor(readonly reason: 'cancelled' | 'lost' | 'stopped') {
    super(`task ${reason}`);
  }
}

interface Running {
  token: string;
  controller: AbortController;
  heartbeat: ReturnType<typeof setInterval>;
  progress: number | undefined;
}

const MAX_ERROR_LENGTH = 4_096;

/**
 * Works a queue for as long as it runs: registers with `task.work` (again after each
 * reconnect), runs the handler for each pushed task with heartbeats, and completes or
 * fails the task with the handler's outcome.
 */
export class TaskWorker<D = unknown, R = unknown, C = unknown> {
  /** The server's name for this worker on the current connection. */
  workerId: string | null = null;
  private readonly running = new Map<string, Running>();
  private stopped = false;
  private registered = false;
  private readonly leaseMs: number;
  private idle: Array<() => void> = [];

  constructor(
    private readonly client: ClientCore,
    readonly board: string,
    readonly queue: string,
    private readonly handler: TaskHandler<D, R, C>,
    private readonly options: WorkOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 30_000;
    client.on('push', this.onPush);
    client.on('open', this.onOpen);
    client.on('close', this.onClose);
  }

  get active(): number {
    return this.running.size;
  }

  /** Registers on the current connection; tasks start arriving after it resolves. */
  async start(): Promise<void> {
    await this.client.connect();
    await this.register();
  }

  private async register(): Promise<void> {
    if (this.stopped) return;
    const args = {
      board: this.board,
      queue: this.queue,
      leaseMs: this.leaseMs,
      ...(this.options.concurrency ? { concurrency: this.options.concurrency } : {}),
    };
    // The id is taken with the reply itself, before the first push that follows it.
    await this.client.request('task.work', args, (r) => {
      this.workerId = r.worker;
    });
    this.registered = true;
  }

  private readonly onOpen = () => {
    // The first registration is start()'s; this one follows a reconnect.
    if (this.stopped || !this.registered) return;
    this.register().catch((err: unknown) => this.options.onError?.(err, ''));
  };

  /** The server releases a closed connection's tasks, so their handlers are told to stop. */
  private readonly onClose = () => {
    this.workerId = null;
    for (const taskId of [...this.running.keys()]) this.abort(taskId, 'lost');
  };

  private readonly onPush = (message: unknown) => {
    const m = message as { push?: string; worker?: string; taskId?: string; task?: TaskPush['task'] };
    if (m.push === 'task' && m.task && m.worker !== undefined && m.worker === this.workerId) void this.run(m.task);
    else if (m.push === 'task.cancel' && typeof m.taskId === 'string') this.abort(m.taskId, 'cancelled');
  };

  private abort(taskId: string, reason: TaskAbortedError['reason']): void {
    const entry = this.running.get(taskId);
    if (!entry || entry.controller.signal.aborted) return;
    clearInterval(entry.heartbeat);
    entry.controller.abort(new TaskAbortedError(reason));
  }

  private lostOn(err: unknown): boolean {
    return err instanceof BlackboardError && (err.code === ErrorCode.FENCED || err.code === ErrorCode.NOT_FOUND);
  }

  private async run(task: TaskPush['task']): Promise<void> {
    const { taskId, token } = task;
    const controller = new AbortController();
    const entry: Running = { token, controller, heartbeat: setInterval(() => void beat(), Math.max(this.leaseMs / 3, 50)), progress: undefined };
    this.running.set(taskId, entry);
    const ids = { board: this.board, taskId, token };
    const beat = async (progress?: number) => {
      if (controller.signal.aborted) return;
      try {
        const p = progress ?? entry.progress;
        await this.client.request('task.heartbeat', p === undefined ? ids : { ...ids, progress: p });
      } catch (err) {
        if (this.lostOn(err)) this.abort(taskId, 'lost');
        if (progress !== undefined) throw err;
      }
    };
    let checkpoint = task.checkpoint as C | null;
    const ctx: TaskContext<C> = {
      board: this.board,
      queue: this.queue,
      taskId,
      attempt: task.attempt,
      get checkpoint() {
        return checkpoint;
      },
      signal: controller.signal,
      saveCheckpoint: async (state, progress) => {
        if (controller.signal.aborted) throw controller.signal.reason;
        if (progress !== undefined) entry.progress = progress;
        try {
          const args = progress === undefined ? { ...ids, checkpoint: state } : { ...ids, checkpoint: state, progress };
          const { seq } = await this.client.request('task.checkpoint', args);
          checkpoint = state;
          return seq;
        } catch (err) {
          if (this.lostOn(err)) this.abort(taskId, 'lost');
          throw err;
        }
      },
      progress: async (n) => {
        entry.progress = n;
        await beat(n);
      },
    };
    try {
      let outcome: { ok: true; result: R } | { ok: false; err: unknown };
      try {
        outcome = { ok: true, result: await this.handler(task.data as D, ctx) };
      } catch (err) {
        outcome = { ok: false, err };
      }
      // A cancelled or lost task is no longer this worker's to finish.
      if (controller.signal.aborted) return;
      try {
        if (outcome.ok) {
          await this.client.request('task.complete', outcome.result === undefined ? ids : { ...ids, result: outcome.result });
        } else {
          const message = outcome.err instanceof Error ? outcome.err.message : String(outcome.err);
          const retryable = !(outcome.err instanceof PermanentTaskError);
          await this.client.request('task.fail', { ...ids, error: message.slice(0, MAX_ERROR_LENGTH) || 'failed', retryable });
        }
      } catch (err) {
        this.options.onError?.(err, taskId);
      }
    } finally {
      clearInterval(entry.heartbeat);
      if (this.running.get(taskId) === entry) this.running.delete(taskId);
      if (this.running.size === 0) for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  /** Takes no new tasks; resolves once the running ones have ended. */
  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      const id = this.workerId;
      if (id !== null) await this.client.request('task.stop', { worker: id }).catch(() => undefined);
    }
    if (this.running.size > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    this.client.off('push', this.onPush);
    this.client.off('open', this.onOpen);
    this.client.off('close', this.onClose);
  }
}
