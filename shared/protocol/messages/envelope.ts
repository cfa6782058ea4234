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
  /** RATE_LIMITED: when to send again. */
  retryAfterMs: z.number().int().min(0).optional(),
  /** Why, within the code: `test` and `reqId` (CONFLICT), `overload` (RATE_LIMITED), ... */
  reason: z.string().optional(),
  key: z.string().optional(),
  /**
   * CONFLICT: the key's state, to merge without another read (`{version: 0}` when it is
   * missing); for `schema.set`, the pattern's current `schemaVersion`.
   */
  current: z
    .object({ version: revision.optional(), modRev: revision.optional(), value: z.unknown().optional(), schemaVersion: revision.optional() })
    .optional(),
  /** CONFLICT of a txn: every compare that failed, in request order. */
  failed: z.array(failedCompare).optional(),
  /** COMPACTED: the newest revision no longer served. */
  compactRev: revision.optional(),
  /** EPOCH_CHANGED: the board's epoch now. */
  epoch: z.string().optional(),
  /** TIMEOUT of a durable write: the revision it committed at. */
  rev: revision.optional(),
  /** A bound that was passed. */
  limit: z.number().optional(),
});

export const errorBody = z.object({
  code: z.enum(ErrorCode),
  message: z.string(),
  details: errorDetails,
});

export const replyOk = z.object({
  id: requestId,
  ok: z.literal(true),
  /** The op's result (see the `result.<op>` definitions). */
  result: z.looseObject({}),
});

export const replyError = z.object({
  /** null when the frame was not JSON or had no usable id. */
  id: requestId.nullable(),
  ok: z.literal(false),
  error: errorBody,
});
