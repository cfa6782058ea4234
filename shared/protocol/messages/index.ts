import type { z } from 'zod';
import { kvResults } from './results-kv.js';
import { lockResults, presenceResults, schemaResults, taskResults } from './results-other.js';
import { kvRequests } from './kv.js';
import { lockRequests } from './locks.js';
import { presenceRequests } from './presence.js';
import { schemaRequests } from './schemas.js';
import { searchRequests, searchResults } from './search.js';
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
  ...searchRequests,
} as const;

export type OpName = keyof typeof requestSchemas;

/** The result of each op (the `result` of its `ok: true` reply), by name: one for every op. */
export const resultSchemas = {
  ...kvResults,
  ...lockResults,
  ...taskResults,
  ...presenceResults,
  ...schemaResults,
  ...searchResults,
} as const satisfies Record<OpName, z.ZodType>;

export type OpResult<Op extends OpName> = z.infer<(typeof resultSchemas)[Op]>;
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
export * from './records.js';
export * from './pushes.js';
export * from './envelope.js';
export * from './search.js';
