import { z } from 'zod';
import { jsonValue, positiveInt, revision } from './common.js';
import { boardEvent, keyRecord, taskProgress } from './records.js';

/** Frames the server sends unasked: `{"push": "<name>", ...}`. Open objects, as results. */

export const eventsPush = z.object({
  push: z.literal('events'),
  sub: z.string(),
  /** Revision order, no gap among matching events, no duplicate; a revision is never split across frames. */
  events: z.array(boardEvent).min(1),
});

export const progressPush = z.object({
  push: z.literal('progress'),
  sub: z.string(),
  /** The board's latest revision: nothing up to it is pending for this subscription. */
  rev: revision,
});

export const snapshotPush = z.object({
  push: z.literal('snapshot'),
  sub: z.string(),
  /** The next part of the snapshot the subscribe result began. */
  items: z.array(keyRecord),
  /** False on the last part; events follow it. */
  more: z.boolean(),
});

export const taskPush = z.object({
  push: z.literal('task'),
  worker: z.string(),
  task: z.object({
    taskId: z.string(),
    queue: z.string(),
    data: jsonValue,
    attempt: positiveInt,
    /** The last checkpoint (null: none), to resume from. */
    checkpoint: jsonValue,
    progress: taskProgress,
    /** Fences heartbeats, checkpoints and completion of this delivery. */
    token: z.string(),
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

export type PushName = keyof typeof pushSchemas;
