import { z } from 'zod';
import { jsonValue, positiveInt, revision } from './common.js';
import { boardEvent, keyRecord, taskProgress } from './records.js';

/** Frames the server sends unasked: `{"push": "<name>", ...}`. Open objects, as results. */

export const eventsPush = z.object({
  push: z.literal('events'),
  sub: z.string(),
  events: z.array(boardEvent).min(1).describe('Revision order, no gap among matching events, no duplicate; a revision is never split across frames.'),
});

export const progressPush = z.object({
  push: z.literal('progress'),
  sub: z.string(),
  rev: revision.describe('The board’s latest revision: nothing up to it is pending for this subscription.'),
});

export const snapshotPush = z.object({
  push: z.literal('snapshot'),
  sub: z.string(),
  items: z.array(keyRecord).describe('The next part of the snapshot the subscribe result began.'),
  more: z.boolean().describe('False on the last part; events follow it.'),
});

export const taskPush = z.object({
  push: z.literal('task'),
  worker: z.string(),
  task: z.object({
    taskId: z.string(),
    queue: z.string(),
    data: jsonValue,
    attempt: positiveInt,
    checkpoint: jsonValue.describe('The last checkpoint (null: none), to resume from.'),
    progress: taskProgress,
    token: z.string().describe('Fences heartbeats, checkpoints and completion of this delivery.'),
  }),
});

export const taskCancelPush = z.object({ push: z.literal('task.cancel'), taskId: z.string() });

export const pushSchemas = {
  events: eventsPush,
  progress: progressPush,
  snapshot: snapshotPush,
  task: taskPush,
  'task.cancel': taskCancelPush,
} as const;
