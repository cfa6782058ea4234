import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { TaskPush } from '../../shared/protocol/types.js';
import type { ApiProvider, BoardApi } from './board-api.js';

type ClaimedTask = TaskPush['task'];

/** Tasks one session may hold at once: each is heartbeated until it ends. */
const MAX_HELD_TASKS = 100;

interface Held {
  board: string;
  token: string;
  timer: ReturnType<typeof setInterval>;
}

/**
 * Tasks an MCP session has claimed, one at a time on the model's request. A claim
 * registers a worker of concurrency 1, takes the first task pushed to it and stops the
 * worker, so the server never hands this session a task the model did not ask for. Held
 * tasks are heartbeated while the session's connection lives, as the SDK's TaskWorker
 * does: a model may think for longer than a lease. When the connection drops the server
 * takes them back, and their tokens are FENCED from then on.
 */
export class TaskClaims {
  private readonly held = new Map<string, Held>();
  private attached: BoardApi | null = null;
  private closed = false;

  constructor(private readonly provider: ApiProvider) {}

  get size(): number {
    return this.held.size;
  }

  private attach(api: BoardApi): void {
    if (this.attached === api) return;
    this.attached = api;
    api.on('close', this.onClose);
    api.on('push', this.onPush);
  }

  private readonly onClose = () => {
    for (const taskId of [...this.held.keys()]) this.drop(taskId);
  };

  private readonly onPush = (message: unknown) => {
    const m = message as { push?: string; taskId?: unknown };
    if (m.push === 'task.cancel' && typeof m.taskId === 'string') this.drop(m.taskId);
  };

  /** Waits up to waitMs for one task of the queue; null when none came. */
  async claim(board: string, queue: string, waitMs: number, leaseMs: number, signal: AbortSignal): Promise<ClaimedTask | null> {
    if (this.held.size >= MAX_HELD_TASKS) {
      throw new BlackboardError(ErrorCode.TOO_LARGE, `this session holds ${this.held.size} tasks: complete or fail some before claiming more`, {
        limit: MAX_HELD_TASKS,
      });
    }
    const api = await this.provider();
    this.attach(api);
    let worker: string | null = null;
    let delivered: ClaimedTask | null = null;
    let wake = () => {};
    const arrived = new Promise<void>((resolve) => (wake = resolve));
    const onPush = (message: unknown) => {
      const m = message as { push?: string; worker?: unknown; task?: ClaimedTask };
      if (m.push === 'task' && m.worker === worker && m.task && !delivered) {
        delivered = m.task;
        wake();
      }
    };
    api.on('push', onPush);
    try {
      // The worker id is taken with the reply itself, before the first push that follows it.
      await api.request('task.work', { board, queue, concurrency: 1, leaseMs }, (r) => {
        worker = (r as { worker: string }).worker;
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => wake();
      signal.addEventListener('abort', onAbort, { once: true });
      await Promise.race([arrived, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      // A push sent before the stop's reply arrives before it on the same socket, and none comes after.
      if (worker !== null) await api.request('task.stop', { worker }).catch(() => undefined);
    } finally {
      api.off('push', onPush);
    }
    const task = delivered as ClaimedTask | null;
    if (task) this.hold(api, board, task, leaseMs);
    return task;
  }

  private hold(api: BoardApi, board: string, task: ClaimedTask, leaseMs: number): void {
    if (this.closed) return;
    const ids = { board, taskId: task.taskId, token: task.token };
    const timer = setInterval(
      () => {
        api.request('task.heartbeat', ids).catch((err: unknown) => {
          // FENCED or NOT_FOUND: no longer ours; anything else is retried at the next beat.
          if (err instanceof BlackboardError && (err.code === ErrorCode.FENCED || err.code === ErrorCode.NOT_FOUND)) this.drop(task.taskId, task.token);
        });
      },
      Math.max(leaseMs / 3, 100),
    );
    timer.unref?.();
    this.drop(task.taskId);
    this.held.set(task.taskId, { board, token: task.token, timer });
  }

  /** Stops heartbeating a task (it was completed, failed, cancelled or lost); with a token, only that delivery. */
  drop(taskId: string, token?: string): void {
    const entry = this.held.get(taskId);
    if (!entry || (token !== undefined && entry.token !== token)) return;
    clearInterval(entry.timer);
    this.held.delete(taskId);
  }

  close(): void {
    this.closed = true;
    for (const taskId of [...this.held.keys()]) this.drop(taskId);
    if (this.attached) {
      this.attached.off('close', this.onClose);
      this.attached.off('push', this.onPush);
    }
  }
}
