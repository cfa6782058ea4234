import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { stringifyJson } from '../../shared/protocol/json.js';
import type { HandlerTable, OpContext } from '../extension.js';
import { checkValueSize } from '../board/handlers/write-common.js';
import { TaskOps } from './ops.js';
import { RemoteWorker, WorkerRegistry } from './remote-workers.js';
import type { TaskService } from './service.js';
import { HELD_RETRY_MS, rateLimited } from '../board/agent-shares.js';

const DEFAULT_LEASE_MS = 30_000;

function jsonText(value: unknown, ctx: OpContext): string {
  const text = stringifyJson(value, ctx.lossless);
  checkValueSize(text, ctx);
  return text;
}

/** The task ops, in one table (authorization hooks see them by name like any other op). */
export function taskHandlers(tasks: () => TaskService): HandlerTable {
  const ops = () => new TaskOps(tasks());
  const table: HandlerTable = {
    async 'task.enqueue'(frame, ctx) {
      const dataText = jsonText(frame.data, ctx);
      return tasks().enqueue(
        {
          board: frame.board,
          queue: frame.queue,
          taskId: frame.taskId,
          dataText,
          attempts: frame.attempts,
          backoffMs: frame.backoffMs,
          delayMs: frame.delayMs,
          priority: frame.priority,
        },
        ctx.session.actorJson,
      );
    },

    async 'task.work'(frame, ctx) {
      const service = tasks();
      if (service.registry.count(ctx.session) >= WorkerRegistry.MAX_WORKERS_PER_CONNECTION) {
        throw rateLimited('too many workers on this connection', 'workers', HELD_RETRY_MS, {
          limit: WorkerRegistry.MAX_WORKERS_PER_CONNECTION,
        });
      }
      if (!service.canServe(frame.board, frame.queue)) {
        throw new BlackboardError(ErrorCode.UNAVAILABLE, 'this node works too many queues; connect to another node');
      }
      // Taken now, before the reply: concurrent task.work of one agent cannot all pass the check.
      service.workerShares.take(ctx.session.agentId);
      const worker = new RemoteWorker(ctx.session, frame.board, frame.queue, frame.concurrency ?? 1, frame.leaseMs ?? DEFAULT_LEASE_MS);
      // Tasks are pushed only once the reply naming the worker is out.
      ctx.afterReply(() => service.startWorker(worker));
      return { worker: worker.id };
    },

    async 'task.heartbeat'(frame, ctx) {
      await ops().touch(frame.board, frame.taskId, frame.token, frame.progress, null, ctx.session.actorJson);
      return { ok: true };
    },

    async 'task.checkpoint'(frame, ctx) {
      const text = jsonText(frame.checkpoint, ctx);
      const seq = await ops().touch(frame.board, frame.taskId, frame.token, frame.progress, text, ctx.session.actorJson);
      return { seq };
    },

    async 'task.complete'(frame, ctx) {
      const text = frame.result === undefined ? '' : jsonText(frame.result, ctx);
      await ops().complete(frame.board, frame.taskId, frame.token, text, ctx.session.actorJson);
      return { ok: true };
    },

    async 'task.fail'(frame, ctx) {
      const willRetry = await ops().fail(frame.board, frame.taskId, frame.token, frame.error, frame.retryable ?? true, ctx.session.actorJson);
      return { willRetry };
    },

    async 'task.get'(frame) {
      return ops().get(frame.board, frame.taskId);
    },

    async 'task.cancel'(frame, ctx) {
      return { state: await ops().cancel(frame.board, frame.taskId, ctx.session.actorJson) };
    },

    async 'task.stop'(frame, ctx) {
      const service = tasks();
      const worker = service.registry.find(ctx.session, frame.worker);
      if (!worker) {
        throw new BlackboardError(ErrorCode.NOT_FOUND, `no worker ${frame.worker} on this connection`, {
          worker: frame.worker,
        });
      }
      service.stopWorker(worker);
      // A stopped worker holding nothing is gone: its share is free again.
      service.retireIfIdle(worker);
      return { stopped: true };
    },
  };
  // Any task op shows that its connection is alive again.
  for (const op of Object.keys(table) as Array<keyof HandlerTable>) {
    const inner = table[op] as (frame: unknown, ctx: OpContext) => Promise<unknown>;
    (table as Record<string, unknown>)[op] = (frame: unknown, ctx: OpContext) => {
      tasks().sawLife(ctx.session);
      return inner(frame, ctx);
    };
  }
  return table;
}
