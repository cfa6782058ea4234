import { z } from 'zod';
import { ErrorCode } from '../errors.js';
import { requestId, revision } from './common.js';

/** The reply envelope and the error body (PROTOCOL.md, "Requests and replies"). */

const failedCompare = z.object({ key: z.string(), expected: revision, actual: revision });

/**
 * What an error says besides its code, always an object. The fields below are the ones
 * with a fixed meaning wherever they appear; others may come with particular errors.
 */
export const errorDetails = z.looseObject({
  retryAfterMs: z.number().int().min(0).optional().describe('RATE_LIMITED: when to send again.'),
  reason: z.string().optional().describe('Why, within the code: `test` and `reqId` (CONFLICT), `overload` (RATE_LIMITED), ...'),
  key: z.string().optional(),
  /**
   * CONFLICT: the key's state, to merge without another read (`{version: 0}` when it is
   * missing); for `schema.set`, the pattern's current `schemaVersion`.
   */
  current: z
    .object({ version: revision.optional(), modRev: revision.optional(), value: z.unknown().optional(), schemaVersion: revision.optional() })
    .optional(),
  failed: z.array(failedCompare).optional().describe('CONFLICT of a txn: every compare that failed, in request order.'),
  compactRev: revision.optional().describe('COMPACTED: the newest revision no longer served.'),
  epoch: z.string().optional().describe('EPOCH_CHANGED: the board’s epoch now.'),
  rev: revision.optional().describe('TIMEOUT of a durable write: the revision it committed at.'),
  limit: z.number().optional().describe('A bound that was passed.'),
});

export const errorBody = z.object({
  code: z.enum(ErrorCode),
  message: z.string(),
  details: errorDetails,
});

export const replyOk = z.object({
  id: requestId,
  ok: z.literal(true),
  result: z.looseObject({}).describe('The op’s result (see the `result.<op>` definitions).'),
});

export const replyError = z.object({
  id: requestId.nullable().describe('null when the frame was not JSON or had no usable id.'),
  ok: z.literal(false),
  error: errorBody,
});
