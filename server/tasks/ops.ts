import { UnrecoverableError, type Job } from 'bullmq';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { RawJson } from '../../shared/protocol/json.js';
import type { TaskInfo as SharedTaskInfo } from '../../shared/protocol/types.js';
import { runScript } from '../board/scripts.js';
import { jobKeys, mirrorKeys } from './keys.js';
import { fenced, withToken } from './lease.js';
import type { HeldTask } from './remote-workers.js';
import type { TaskService } from './service.js';
import { readTask, type TaskSnapshot } from './snapshot.js';

/** What `task.get` returns: the shared TaskInfo with the stored JSON spliced in as text. */
type TaskInfo = Omit<SharedTaskInfo, 'checkpoint' | 'result'> & { checkpoint: RawJson | null; result?: RawJson };

function notFound(taskId: string): BlackboardError {
  return new BlackboardError(ErrorCode.NOT_FOUND, `no task ${taskId} on this board`, { taskId });
}

/** The ops on one task, once its frame is valid. Each one that takes a token changes nothing unless it holds the task. */
export class TaskOps {
  constructor(private readonly tasks: TaskService) {}

  private heldBy(board: string, taskId: string, token: string): HeldTask | undefined {
    const held = this.tasks.registry.byTokenOf(token);
    return held && held.board === board && held.taskId === taskId ? held : undefined;
  }

  private async queueOf(board: string, taskId: string): Promise<string> {
    const queue = await this.tasks.queues.queueOf(board, taskId);
    if (queue === null) throw notFound(taskId);
    return queue;
  }

  private async locate(board: string, taskId: string, token: string): Promise<{ queue: string; job: Job; held?: HeldTask }> {
    const held = this.heldBy(board, taskId, token);
    if (held) return { queue: held.queue, job: held.job, held };
    const queue = await this.queueOf(board, taskId);
    const job = await this.tasks.queues.job(board, queue, taskId);
    if (!job) throw fenced(taskId);
    return { queue, job };
  }

  /** Heartbeat (checkpointText null) or checkpoint: renews the lease; returns the checkpoint sequence. */
  async touch(board: string, taskId: string, token: string, progress: number | undefined, checkpointText: string | null, actorJson: string): Promise<number> {
    const held = this.heldBy(board, taskId, token);
    const queue = held?.queue ?? (await this.queueOf(board, taskId));
    // The lease, the checkpoint and its mirror are one script.
    const touched = await this.tasks.mirror.run(
      'task-touch-11',
      { board, queue, taskId, actorJson },
      [jobKeys(board, queue, taskId).stalled],
      [token, progress === undefined ? '' : JSON.stringify(progress), checkpointText === null ? '0' : '1', checkpointText ?? ''],
    );
    if (!touched.ok) {
      if (held) this.tasks.dropHeld(held);
      throw fenced(taskId);
    }
    if (held) this.tasks.armLease(held, touched.leaseMs);
    return touched.seq;
  }

  async complete(board: string, taskId: string, token: string, resultText: string, actorJson: string): Promise<void> {
    const { queue, job, held } = await this.locate(board, taskId, token);
    // A worker of this node: the slot this frees takes the queue's next job, in the same script.
    const pump = held ? this.tasks.keepSlot(held, actorJson) : null;
    if (pump && held) return this.tasks.finish(pump, held, resultText, actorJson);
    try {
      await withToken(taskId, () => job.moveToCompleted(resultText, token, false));
    } finally {
      if (held) this.tasks.dropHeld(held);
    }
    await this.tasks.mirror.sync(board, queue, taskId, actorJson);
  }

  async fail(board: string, taskId: string, token: string, error: string, retryable: boolean, actorJson: string): Promise<boolean> {
    const { queue, job, held } = await this.locate(board, taskId, token);
    const willRetry = retryable && job.attemptsMade + 1 < (job.opts.attempts ?? 1);
    try {
      await withToken(taskId, () => job.moveToFailed(retryable ? new Error(error) : new UnrecoverableError(error), token));
    } finally {
      if (held) this.tasks.dropHeld(held);
    }
    await this.tasks.mirror.sync(board, queue, taskId, actorJson);
    return willRetry;
  }

  async cancel(board: string, taskId: string, actorJson: string): Promise<SharedTaskInfo['state']> {
    const queue = await this.queueOf(board, taskId);
    const k = jobKeys(board, queue, taskId);
    // A holder may finish or be lost while we fail it: then look again (bounded).
    for (let round = 0; round < 5; round++) {
      const { state, token } = await runScript(
        this.tasks.services.redis,
        'task-cancel-9',
        [k.job, k.lock, k.wait, k.paused, k.delayed, k.prioritized, k.active, k.failed, k.events],
        [taskId, Date.now()],
      );
      if (token !== null) {
        const job = await this.tasks.queues.job(board, queue, taskId);
        try {
          await job?.moveToFailed(new UnrecoverableError('cancelled'), token);
        } catch {
          continue;
        }
      }
      if (state === 'missing') return (await this.get(board, taskId)).state;
      try {
        // The board shows the cancellation before its holder is told (and before the reply).
        const task = await this.tasks.mirror.sync(board, queue, taskId, actorJson);
        return task?.state ?? 'cancelled';
      } finally {
        if (token !== null) await this.tasks.announceCancel(token);
      }
    }
    throw new BlackboardError(ErrorCode.CONFLICT, `task ${taskId} kept changing hands; retry the cancel`, { taskId });
  }

  async get(board: string, taskId: string): Promise<TaskInfo> {
    const queue = await this.queueOf(board, taskId);
    const view = await readTask(this.tasks.services.redis, board, queue, taskId);
    if (view.task) return info(view.task);
    if (!view.mirror) throw notFound(taskId);
    // BullMQ no longer has the job: the board's mirror still tells what became of it.
    const status = JSON.parse(view.mirror.valueText) as Omit<TaskInfo, 'checkpoint' | 'result'> & { result?: unknown };
    const cp = await this.tasks.services.store.read(board, mirrorKeys(queue, taskId).checkpoint);
    const { result: _result, ...rest } = status;
    const resultMatch = /"result":(.*)}$/.exec(view.mirror.valueText);
    return {
      ...rest,
      taskId,
      queue,
      checkpoint: cp.record ? new RawJson(cp.record.valueText) : null,
      ...(resultMatch?.[1] ? { result: new RawJson(resultMatch[1]) } : {}),
    };
  }
}

function info(t: TaskSnapshot): TaskInfo {
  return {
    taskId: t.taskId,
    queue: t.queue,
    state: t.state,
    attempt: t.attempt,
    attempts: t.attempts,
    progress: t.progress,
    seq: t.seq,
    losses: t.losses,
    failures: t.failures,
    checkpoint: t.checkpointText === null ? null : new RawJson(t.checkpointText),
    ...(t.resultText !== null ? { result: new RawJson(t.resultText) } : {}),
    ...(t.error !== null ? { error: t.error } : {}),
  };
}
