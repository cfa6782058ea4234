import { intFlag, noMorePositionals, parseJsonArg, positional, stringFlag } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { compact } from '../output.js';
import type { CliContext } from '../context.js';
import type { CommandLine } from '../args.js';
import type { OpArgs } from '../../../shared/protocol/messages/index.js';

async function enqueue(ctx: CliContext, line: CommandLine): Promise<number> {
  const board = positional(line, 1, 'board');
  const queue = positional(line, 2, 'queue');
  const data = parseJsonArg(positional(line, 3, 'json-data'), 'the task data');
  noMorePositionals(line, 4);
  const args: OpArgs<'task.enqueue'> = { board, queue, data };
  const taskId = stringFlag(line, 'task-id');
  if (taskId !== undefined) args.taskId = taskId;
  for (const [flag, field, max] of [
    ['attempts', 'attempts', 100],
    ['backoff-ms', 'backoffMs', 86_400_000],
    ['delay-ms', 'delayMs', 31_536_000_000],
    ['priority', 'priority', 2_097_151],
  ] as const) {
    const value = intFlag(line, flag, flag === 'attempts' ? 1 : 0, max);
    if (value !== undefined) args[field] = value;
  }
  const client = await ctx.connect();
  const result = await client.request('task.enqueue', args);
  ctx.out.result(result, () => `${result.taskId}${result.created ? '' : ' (already enqueued: kept the first data)'}`);
  return ExitCode.OK;
}

async function get(ctx: CliContext, line: CommandLine): Promise<number> {
  const board = positional(line, 1, 'board');
  const taskId = positional(line, 2, 'task-id');
  noMorePositionals(line, 3);
  const client = await ctx.connect();
  const task = await client.request('task.get', { board, taskId });
  ctx.out.result(task, () => [
    `${taskId}: ${task.state}, attempt ${task.attempt}, progress ${task.progress}`,
    ...(task.checkpoint !== undefined && task.checkpoint !== null ? [`checkpoint: ${compact(task.checkpoint, 400)}`] : []),
    ...('result' in task ? [`result: ${compact(task.result, 400)}`] : []),
    ...('error' in task ? [`error: ${compact(task.error, 400)}`] : []),
  ]);
  return ExitCode.OK;
}

async function cancel(ctx: CliContext, line: CommandLine): Promise<number> {
  const board = positional(line, 1, 'board');
  const taskId = positional(line, 2, 'task-id');
  noMorePositionals(line, 3);
  const client = await ctx.connect();
  const result = await client.request('task.cancel', { board, taskId });
  ctx.out.result(result, () => `${taskId}: ${result.state}`);
  return ExitCode.OK;
}

const SUBCOMMANDS: Record<string, (ctx: CliContext, line: CommandLine) => Promise<number>> = { enqueue, get, cancel };

export const taskCommand: Command = {
  name: 'task',
  usage:
    'task enqueue <board> <queue> <json-data> [--task-id ID] [--attempts N] [--backoff-ms N] [--delay-ms N] [--priority N]\n' +
    '       task get <board> <task-id>\n' +
    '       task cancel <board> <task-id>',
  summary: 'Enqueue a task, show its state, or cancel it.',
  options: {
    'task-id': { type: 'string' },
    attempts: { type: 'string' },
    'backoff-ms': { type: 'string' },
    'delay-ms': { type: 'string' },
    priority: { type: 'string' },
  },
  async run(ctx, line) {
    const sub = positional(line, 0, 'enqueue|get|cancel');
    const run = Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
    if (!run) throw new UsageError(`unknown task command ${JSON.stringify(sub)}: use enqueue, get or cancel`);
    return run(ctx, line);
  },
};
