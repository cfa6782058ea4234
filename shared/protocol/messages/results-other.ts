import { z } from 'zod';
import { jsonValue, positiveInt, revision } from './common.js';
import { taskProgress, taskState, timestamp } from './records.js';
import { jsonSchema, migration } from './schemas.js';

/** Results of the lock, task, presence and schema ops. */

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const lockResults = {
  'lock.acquire': z.object({ token: positiveInt, expiresAt: timestamp }).describe('`token` fences writes: the revision at which the lock was taken.'),
  'lock.extend': z.object({ expiresAt: timestamp }),
  'lock.release': z.object({ released: z.literal(true) }),
} as const;

/** What `task.get` answers. */
export const taskInfo = z.object({
  taskId: z.string(),
  queue: z.string(),
  state: taskState,
  attempt: count.describe('Deliveries so far, from 1 (0 before the first).'),
  attempts: positiveInt.describe('Most deliveries that may end with `task.fail`.'),
  progress: taskProgress,
  seq: count.describe('The checkpoint sequence.'),
  losses: count,
  failures: count,
  checkpoint: jsonValue.describe('The last checkpoint, null when there is none.'),
  result: jsonValue.optional(),
  error: z.string().optional(),
  worker: z.string().optional().describe('The worker holding it, while it is active.'),
});

export const taskResults = {
  'task.enqueue': z.object({ taskId: z.string(), created: z.boolean() }).describe('`created: false`: that taskId existed already (its first data stays).'),
  'task.work': z.object({ worker: z.string() }),
  'task.heartbeat': z.object({ ok: z.literal(true) }),
  'task.checkpoint': z.object({ seq: positiveInt }),
  'task.complete': z.object({ ok: z.literal(true) }),
  'task.fail': z.object({ willRetry: z.boolean() }),
  'task.get': taskInfo,
  'task.cancel': z.object({ state: taskState }),
  'task.stop': z.object({ stopped: z.literal(true) }),
} as const;

export const presenceResults = {
  'presence.set': z.object({ rev: positiveInt, since: timestamp, expiresAt: timestamp }),
  'presence.clear': z
    .object({ cleared: z.boolean(), rev: positiveInt.optional() })
    .describe('`rev` is the revision that removed the entry; `cleared: false` when there was none.'),
} as const;

/** The last background migration pass over a board (see docs/schemas.md). */
export const migrationPassReport = z.object({
  finishedAt: timestamp,
  scanned: count,
  migrated: count,
  failed: count,
  unversioned: count,
  conflicts: count,
});

export const schemaResults = {
  'schema.set': z
    .object({ pattern: z.string(), schemaVersion: positiveInt, rev: revision, created: z.boolean() })
    .describe('`created: false` when the same version was registered before with the same content.'),
  'schema.get': z.object({
    pattern: z.string(),
    schemaVersion: positiveInt,
    previous: positiveInt.optional().describe('The version this one migrates from (absent for a pattern’s first version).'),
    schema: jsonSchema,
    migration: migration.optional(),
    registeredAt: timestamp,
  }),
  'schema.list': z.object({
    schemas: z.array(z.object({ pattern: z.string(), schemaVersion: positiveInt, versions: z.array(positiveInt) })),
    migration: z.object({ pending: z.boolean(), running: z.boolean(), last: migrationPassReport.optional() }),
  }),
} as const;
