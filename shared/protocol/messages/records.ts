import { z } from 'zod';
import { jsonValue, positiveInt, revision } from './common.js';
import { jsonPatch } from './kv.js';

/**
 * The shapes the server sends back, shared by results and pushes. Objects here are open
 * (`z.object`): a client must accept fields it does not know, since results may carry
 * more fields than listed. Request schemas, by contrast, are strict.
 */

/** Epoch milliseconds. */
export const timestamp = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A key as stored on a board. */
export const keyRecord = z.object({
  key: z.string(),
  value: jsonValue,
  version: positiveInt.describe('1 at creation, +1 per change.'),
  createRev: revision.describe('The revision that created the key (0 when it predates the history a rebuild had).'),
  modRev: positiveInt,
});

const eventBase = {
  rev: positiveInt,
  key: z.string(),
  actor: z.string().describe('The writer’s agent id (`$server` for expiries).'),
  ts: timestamp,
};

/** A put event carries `value`, or (`mode: "patch"`) `patch` in its place: exactly one of them. */
const putEvent = z
  .object({ ...eventBase, type: z.literal('put'), version: positiveInt, value: jsonValue.optional(), patch: jsonPatch.optional() })
  .meta({ oneOf: [{ required: ['value'] }, { required: ['patch'] }] });

const deleteEvent = z.object({ ...eventBase, type: z.literal('delete'), version: z.literal(0) });

/** One change, as pushed to subscribers and returned by `history`. */
export const boardEvent = z.discriminatedUnion('type', [putEvent, deleteEvent]);

export const taskState = z.enum(['waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled']);

/** 0–100, the latest from a heartbeat or checkpoint. */
export const taskProgress = z.number().min(0).max(100);
