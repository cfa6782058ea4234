import type { z } from 'zod';
import { kvRequests } from './kv.js';
import { lockRequests } from './locks.js';
import { presenceRequests } from './presence.js';
import { schemaRequests } from './schemas.js';
import { subscriptionRequests } from './subscriptions.js';
import { taskRequests } from './tasks.js';

/** Every op the server understands, by name, with the schema of its request frame. */
export const requestSchemas = {
  ...kvRequests,
  ...subscriptionRequests,
  ...lockRequests,
  ...taskRequests,
  ...presenceRequests,
  ...schemaRequests,
} as const;

export type OpName = keyof typeof requestSchemas;
export type RequestFrame<Op extends OpName> = z.infer<(typeof requestSchemas)[Op]>;
/** The arguments of an op as a caller writes them (without `id` and `op`). */
export type OpArgs<Op extends OpName> = Omit<z.input<(typeof requestSchemas)[Op]>, 'id' | 'op'>;

export function isOpName(op: unknown): op is OpName {
  return typeof op === 'string' && Object.hasOwn(requestSchemas, op);
}

export * from './common.js';
export * from './kv.js';
export * from './subscriptions.js';
export * from './tasks.js';
