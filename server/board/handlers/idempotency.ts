import { createHash } from 'node:crypto';
import { BlackboardError, ErrorCode } from '../../../shared/protocol/errors.js';
import { stringifyJson } from '../../../shared/protocol/json.js';
import { preEncoded, type PreEncoded } from '../../../shared/protocol/envelope.js';
import type { OpContext } from '../../extension.js';
import { reqIdConflict, reqIdKey } from '../store.js';

/**
 * reqId belongs to the agent that sent it and to that request (PROTOCOL.md, settled rules):
 * its record is named by agent and reqId, and holds a fingerprint of the request, so the
 * same reqId with another request is a CONFLICT rather than a silent no-op.
 */

export interface WriteIdentity {
  /** As the client sent it. */
  reqId: string;
  /** The record's name on the board, scoped to the agent. */
  key: string;
  fingerprint: string;
  /** The commit script looked the reqId up and found none (its refusals need no second look). */
  judged?: boolean;
}

/** Digest of a write request: op, board, keys and every argument but `id` and `reqId`, in any field order. */
export function requestFingerprint(frame: Readonly<Record<string, unknown>>, lossless: boolean): string {
  let text = '';
  for (const name of Object.keys(frame).sort()) {
    if (name === 'id' || name === 'reqId' || frame[name] === undefined) continue;
    text += `${name}=${stringifyJson(frame[name], lossless)}\n`;
  }
  return createHash('sha256').update(text).digest('base64url');
}

export function writeIdentity(frame: Readonly<Record<string, unknown>> & { reqId?: string | undefined }, ctx: OpContext): WriteIdentity | undefined {
  if (frame.reqId === undefined) return undefined;
  return { reqId: frame.reqId, key: reqIdKey(ctx.session.agentId, frame.reqId), fingerprint: requestFingerprint(frame, ctx.lossless) };
}

/** Refusals that a check made before the commit can give, and that a committed first try makes moot. */
const RECALLABLE: ReadonlySet<string> = new Set([
  ErrorCode.CONFLICT,
  ErrorCode.NOT_FOUND,
  ErrorCode.BAD_REQUEST,
  ErrorCode.INVALID,
  ErrorCode.TOO_LARGE,
]);

/**
 * Runs a write; if it is refused, asks whether the same request already committed under
 * its reqId (the reply to that was lost) and answers with the first result instead. A
 * retry must never see its own committed write as a conflict, a missing key or a bad path.
 */
export async function firstResultOr<R>(
  ctx: OpContext,
  board: string,
  identity: WriteIdentity | undefined,
  durability: 'memory' | 'durable' | undefined,
  write: () => Promise<PreEncoded<R>>,
): Promise<PreEncoded<R>> {
  try {
    return await write();
  } catch (err) {
    if (identity === undefined || !(err instanceof BlackboardError) || !RECALLABLE.has(err.code)) throw err;
    if (err.details?.reason === 'reqId' || identity.judged) throw err;
    const first = await ctx.services.store.recall(board, identity.key, identity.fingerprint);
    if (first === null) throw err;
    if (!first.matches) throw reqIdConflict(identity.reqId);
    if (durability === 'durable') await ctx.services.history?.awaitPersisted(board, first.rev);
    return preEncoded<R>(first.resultText);
  }
}
