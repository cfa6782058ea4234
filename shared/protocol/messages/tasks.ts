import { z } from 'zod';
import { boardName, jsonValue, request } from './common.js';

// Not an integer, signed or not: the queue takes such ids for its own numbering (`-92` was
// INTERNAL). Not a negative number either (`-.4`, `-1.5e3`, `-Infinity`): the queue reads a
// reply below zero as one of its failure codes, so such an id was INTERNAL too.
const TASK_ID_PATTERN = /^(?!-?\d+$)(?!-(?:\d+\.?\d*|\.\d+)(?:[eE]-?\d+)?$)(?!-Infinity$)[A-Za-z0-9_.-]{1,128}$/;
export const taskId = z
  .string()
  .regex(TASK_ID_PATTERN, 'taskId must match [A-Za-z0-9_.-]{1,128} and be neither an integer (all digits, with or without a leading -) nor a negative number');
export const queueName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'queue must match [A-Za-z0-9_.-]{1,64}');
const token = z.string().min(1).max(256);
const progress = z.number().min(0).max(100);

export const taskRequests = {
  'task.enqueue': request('task.enqueue', {
    board: boardName,
    queue: queueName,
    data: jsonValue,
    taskId: taskId.optional(),
    attempts: z.number().int().min(1).max(100).optional(),
    backoffMs: z.number().int().min(0).max(86_400_000).optional(),
    delayMs: z.number().int().min(0).max(31_536_000_000).optional(),
    priority: z.number().int().min(0).max(2_097_151).optional(),
  }),
  'task.work': request('task.work', {
    board: boardName,
    queue: queueName,
    concurrency: z.number().int().min(1).max(1_000).optional(),
    leaseMs: z.number().int().min(1_000).max(3_600_000).optional(),
  }),
  'task.heartbeat': request('task.heartbeat', { board: boardName, taskId, token, progress: progress.optional() }),
  'task.checkpoint': request('task.checkpoint', {
    board: boardName,
    taskId,
    token,
    checkpoint: jsonValue,
    progress: progress.optional(),
  }),
  'task.complete': request('task.complete', { board: boardName, taskId, token, result: jsonValue.optional() }),
  'task.fail': request('task.fail', {
    board: boardName,
    taskId,
    token,
    error: z.string().max(4_096),
    retryable: z.boolean().optional(),
  }),
  'task.get': request('task.get', { board: boardName, taskId }),
  'task.cancel': request('task.cancel', { board: boardName, taskId }),
  'task.stop': request('task.stop', { worker: z.string().min(1).max(64) }),
} as const;
