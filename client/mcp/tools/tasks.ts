import { z } from 'zod';
import { queueName, taskId } from '../../../shared/protocol/messages/tasks.js';
import { anyJson, type BoardArg } from '../args.js';
import { tool, type ToolDefinition } from '../tool.js';

const taskIdArg = taskId.describe('Task id.');
const tokenArg = z.string().min(1).max(256).describe('The token task_claim gave you for this task.');
const progressArg = z.number().min(0).max(100).optional().describe('Progress, 0–100.');
const stateOutput = z.enum(['waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled']);

/** Handing out work, and working it: claim, checkpoint, complete or fail, all fenced by the claim's token. */
export function taskTools(board: BoardArg): ToolDefinition[] {
  const finish = (taskIdValue: string, token: string, ctx: { claims: { drop(id: string, token?: string): void } }) => ctx.claims.drop(taskIdValue, token);
  return [
    tool({
      name: 'task_enqueue',
      title: 'Queue a task',
      description:
        'Adds a task to a queue of the board for some agent to claim with task_claim. Giving a task_id makes it idempotent: the same id again is not queued twice (created=false).',
      action: 'task',
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      input: {
        board,
        queue: queueName.describe('Queue name ([A-Za-z0-9_.-]{1,64}).'),
        data: anyJson.describe('What the task is about (any JSON).'),
        task_id: taskId.optional().describe('Your id for the task (default: a new UUID).'),
        attempts: z.number().int().min(1).max(100).optional().describe('How many failed attempts before it fails for good (default 3).'),
        delay_ms: z.number().int().min(0).max(31_536_000_000).optional().describe('Do not hand it out before this many ms.'),
        priority: z.number().int().min(0).max(2_097_151).optional().describe('Lower numbers go first (0 = none).'),
      },
      output: { task_id: z.string(), created: z.boolean() },
      async run(args, ctx) {
        const r = await ctx.api.request('task.enqueue', {
          board: ctx.board(args.board),
          queue: args.queue,
          data: args.data,
          ...(args.task_id === undefined ? {} : { taskId: args.task_id }),
          ...(args.attempts === undefined ? {} : { attempts: args.attempts }),
          ...(args.delay_ms === undefined ? {} : { delayMs: args.delay_ms }),
          ...(args.priority === undefined ? {} : { priority: args.priority }),
        });
        return { task_id: r.taskId, created: r.created };
      },
    }),
    tool({
      name: 'task_get',
      title: 'Look at a task',
      description:
        'The state of a task: waiting, delayed, active, completed (with result), failed (with error) or cancelled; its attempt, progress and last checkpoint.',
      action: 'task',
      annotations: { readOnlyHint: true, idempotentHint: true },
      input: { board, task_id: taskIdArg },
      output: {
        task_id: z.string(),
        queue: z.string(),
        state: stateOutput,
        attempt: z.number().int(),
        attempts: z.number().int(),
        progress: z.number(),
        checkpoint: z.unknown(),
        result: z.unknown().optional(),
        error: z.string().optional(),
      },
      async run(args, ctx) {
        const t = await ctx.api.request('task.get', { board: ctx.board(args.board), taskId: args.task_id });
        return {
          task_id: t.taskId,
          queue: t.queue,
          state: t.state,
          attempt: t.attempt,
          attempts: t.attempts,
          progress: t.progress,
          checkpoint: t.checkpoint ?? null,
          ...(t.result === undefined ? {} : { result: t.result }),
          ...(t.error === undefined ? {} : { error: t.error }),
        };
      },
    }),
    tool({
      name: 'task_cancel',
      title: 'Cancel a task',
      description: 'Cancels a task: a waiting one is never handed out; an agent working on it is told to stop, and its token stops working.',
      action: 'task',
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
      input: { board, task_id: taskIdArg },
      output: { state: stateOutput },
      async run(args, ctx) {
        const r = await ctx.api.request('task.cancel', {
          board: ctx.board(args.board),
          taskId: args.task_id,
        });
        return { state: r.state };
      },
    }),
    tool({
      name: 'task_claim',
      title: 'Claim a task to work on',
      description: [
        'Takes one task from a queue, waiting up to wait_ms for one to arrive (claimed=false if none did).',
        'You get its data, its attempt number, the last checkpoint saved by whoever worked on it before you (resume from there), and a token.',
        'The task stays yours while your session lives: save progress with task_checkpoint and finish with task_complete or task_fail, passing the token.',
        'If your session is lost, the task goes to another agent and your token is FENCED.',
      ].join(' '),
      action: 'task',
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      input: {
        board,
        queue: queueName,
        wait_ms: z.number().int().min(0).max(60_000).optional().describe('How long to wait for a task (ms, default 5000).'),
        lease_ms: z
          .number()
          .int()
          .min(1_000)
          .max(3_600_000)
          .optional()
          .describe(
            'How soon the task goes back to the queue if this session stops heartbeating it (ms, default 30000); it heartbeats by itself while connected.',
          ),
      },
      output: {
        claimed: z.boolean(),
        task: z
          .strictObject({
            task_id: z.string(),
            queue: z.string(),
            data: z.unknown(),
            attempt: z.number().int().describe('1 on first delivery; more means someone worked on it before.'),
            checkpoint: z.unknown().describe('The last checkpoint saved, or null.'),
            progress: z.number(),
            token: z.string().describe('Pass it to task_checkpoint, task_complete and task_fail.'),
          })
          .optional(),
      },
      async run(args, ctx) {
        const task = await ctx.claims.claim(ctx.board(args.board), args.queue, args.wait_ms ?? 5_000, args.lease_ms ?? 30_000, ctx.signal);
        if (!task) return { claimed: false };
        return {
          claimed: true,
          task: {
            task_id: task.taskId,
            queue: task.queue,
            data: task.data,
            attempt: task.attempt,
            checkpoint: task.checkpoint ?? null,
            progress: task.progress,
            token: task.token,
          },
        };
      },
    }),
    tool({
      name: 'task_checkpoint',
      title: 'Save progress on a task',
      description:
        'Saves the state to resume a claimed task from (any JSON). Whoever gets the task next, after a crash, starts from the last checkpoint. FENCED: the task is no longer yours.',
      action: 'task',
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      input: {
        board,
        task_id: taskIdArg,
        token: tokenArg,
        checkpoint: anyJson.describe('The state to resume from.'),
        progress: progressArg,
      },
      output: { seq: z.number().int().describe('Sequence number of this checkpoint.') },
      async run(args, ctx) {
        const r = await ctx.api.request('task.checkpoint', {
          board: ctx.board(args.board),
          taskId: args.task_id,
          token: args.token,
          checkpoint: args.checkpoint,
          ...(args.progress === undefined ? {} : { progress: args.progress }),
        });
        return { seq: r.seq };
      },
    }),
    tool({
      name: 'task_complete',
      title: 'Complete a task',
      description:
        'Marks a claimed task done with its result. FENCED: the task was taken back (your session was lost or its lease lapsed) and someone else may be working on it; do not redo side effects.',
      action: 'task',
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      input: { board, task_id: taskIdArg, token: tokenArg, result: anyJson.optional().describe("The task's result (any JSON).") },
      output: { ok: z.boolean() },
      async run(args, ctx) {
        try {
          await ctx.api.request('task.complete', {
            board: ctx.board(args.board),
            taskId: args.task_id,
            token: args.token,
            ...(args.result === undefined ? {} : { result: args.result }),
          });
          return { ok: true };
        } finally {
          finish(args.task_id, args.token, ctx);
        }
      },
    }),
    tool({
      name: 'task_fail',
      title: 'Fail a task',
      description:
        'Gives up on a claimed task with an error message. With retryable (default true) it goes back to the queue while attempts remain (will_retry=true).',
      action: 'task',
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      input: {
        board,
        task_id: taskIdArg,
        token: tokenArg,
        error: z.string().min(1).max(4_096).describe('What went wrong.'),
        retryable: z.boolean().optional(),
      },
      output: { will_retry: z.boolean() },
      async run(args, ctx) {
        try {
          const r = await ctx.api.request('task.fail', {
            board: ctx.board(args.board),
            taskId: args.task_id,
            token: args.token,
            error: args.error,
            ...(args.retryable === undefined ? {} : { retryable: args.retryable }),
          });
          return { will_retry: r.willRetry };
        } finally {
          finish(args.task_id, args.token, ctx);
        }
      },
    }),
  ];
}
