import * as crypto from 'node:crypto';
import { BlackboardError, ErrorCode } from '../../../shared/protocol/errors.js';
import { RawJson, stringifyJson } from '../../../shared/protocol/json.js';
import { preEncoded, type PreEncoded } from '../../../shared/protocol/envelope.js';
import type { OpResult } from '../../../shared/protocol/messages/index.js';
import type { OpContext } from '../../extension.js';
import { CompareFailed, reqIdConflict, reqIdKey, type CommitOutcome, type CommitRequest, type WriteOp } from '../store.js';
import type { StoredRecord } from '../records.js';

export function forbidServerKey(key: string): void {
  if (key.startsWith('$')) {
    throw new BlackboardError(ErrorCode.FORBIDDEN, `keys starting with $ belong to the server (${key})`, { key });
  }
}

/** JSON text of a value from a frame, refused past MAX_VALUE_BYTES. */
export function valueText(value: unknown, ctx: OpContext): string {
  const text = stringifyJson(value, ctx.lossless);
  checkValueSize(text, ctx);
  return text;
}

export function checkValueSize(text: string, ctx: OpContext): void {
  const limit = ctx.services.config.MAX_VALUE_BYTES;
  // A UTF-16 unit is at most 3 UTF-8 bytes: most values need no exact count.
  if (text.length * 3 > limit && Buffer.byteLength(text) > limit) {
    throw new BlackboardError(ErrorCode.TOO_LARGE, `value is larger than ${limit} bytes`, { limit });
  }
}

/** The key's current state as a CONFLICT carries it, so the caller can merge without a read. */
function currentState(record: StoredRecord | null) {
  return record ? { version: record.version, modRev: record.modRev, value: new RawJson(record.valueText) } : { version: 0 };
}

/** CONFLICT details for a single-key write: the key's current state, to merge without a read. */
export function currentConflict(key: string, record: StoredRecord | null, expected: number): BlackboardError {
  const current = currentState(record);
  return new BlackboardError(ErrorCode.CONFLICT, `version of ${key} is ${current.version}, not ${expected}`, {
    key,
    current,
  });
}

/** A patch `test` op failed on `record`: CONFLICT with the state it was tested against. */
export function withCurrentState(err: unknown, key: string, record: StoredRecord | null): unknown {
  if (!(err instanceof BlackboardError) || err.code !== ErrorCode.CONFLICT || err.details?.reason !== 'test') return err;
  return new BlackboardError(ErrorCode.CONFLICT, err.message, { ...err.details, key, current: currentState(record) });
}

/** Per event, besides its value and patch: rev, key, type, version, actor and ts. */
const EVENT_OVERHEAD_BYTES = 128;

/**
 * A revision must fit a subscriber's outbound bound, or one that fell behind could never
 * catch up: its events together (values and patches) are held to MAX_REVISION_BYTES.
 */
function checkRevisionSize(ops: readonly WriteOp[], ctx: OpContext): void {
  const limit = ctx.services.config.MAX_REVISION_BYTES;
  const actor = ctx.session.actorJson.length;
  let units = 0;
  for (const op of ops) units += (op.valueText?.length ?? 0) + (op.patchText?.length ?? 0) + op.key.length * 2 + actor + EVENT_OVERHEAD_BYTES;
  // A UTF-16 unit is at most 3 UTF-8 bytes: most revisions need no exact count.
  if (units * 3 <= limit) return;
  let bytes = 0;
  for (const op of ops) {
    bytes += Buffer.byteLength(op.valueText ?? '') + Buffer.byteLength(op.patchText ?? '') + Buffer.byteLength(op.key) * 2;
    bytes += actor + EVENT_OVERHEAD_BYTES;
  }
  if (bytes > limit) {
    throw new BlackboardError(ErrorCode.TOO_LARGE, `the events of this write take ${bytes} bytes, more than ${limit}`, { limit, bytes });
  }
}

/** Refusals the commit script gives after it looked the reqId up. */
const JUDGED: ReadonlySet<string> = new Set([ErrorCode.CONFLICT, ErrorCode.FENCED, ErrorCode.NOT_FOUND]);

/** The result of a committed write of `shape`, as the commit script encoded it. */
export type WriteResult<S extends CommitRequest['shape']> = PreEncoded<OpResult<S>>;

/** Commits, waits for Postgres when the write asked for `durable`, and returns the result as raw JSON. */
export async function commitWrite<S extends CommitRequest['shape']>(
  ctx: OpContext,
  request: Omit<CommitRequest, 'actorJson' | 'reqId' | 'fingerprint' | 'shape'> & { shape: S },
  identity: WriteIdentity | undefined,
  durability: 'memory' | 'durable' | undefined,
): Promise<WriteResult<S>> {
  const durable = durability === 'durable';
  if (durable && !ctx.services.durability.available) {
    throw new BlackboardError(ErrorCode.UNAVAILABLE, 'durable writes need history (Postgres) on this server');
  }
  checkRevisionSize(request.ops, ctx);
  let outcome: CommitOutcome;
  try {
    outcome = await ctx.services.store.commit({
      ...request,
      actorJson: ctx.session.actorJson,
      reqId: identity?.key,
      fingerprint: identity?.fingerprint,
    });
  } catch (err) {
    // The script looks the reqId up before any of these refusals.
    if (identity && (err instanceof CompareFailed || (err instanceof BlackboardError && JUDGED.has(err.code)))) identity.judged = true;
    throw err;
  }
  if (durable) await ctx.services.durability.awaitPersisted(request.board, outcome.rev);
  return preEncoded<OpResult<S>>(outcome.resultText);
}

export { CompareFailed };

// --- idempotency ---

/**
 * reqId belongs to the agent that sent it and to that request (PROTOCOL.md, settled rules):
 * its record is named by agent and reqId, and holds a fingerprint of the request, so the
 * same reqId with another request is a CONFLICT rather than a silent no-op.
 */

interface WriteIdentity {
  /** As the client sent it. */
  reqId: string;
  /** The record's name on the board, scoped to the agent. */
  key: string;
  fingerprint: string;
  /** The commit script looked the reqId up and found none (its refusals need no second look). */
  judged?: boolean;
}

/** The one-shot digest (Node 20.12+): the same bytes as a Hash object's, without building one per write. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string }).hash;

/** Digest of a write request: op, board, keys and every argument but `id` and `reqId`, in any field order. */
function requestFingerprint(frame: Readonly<Record<string, unknown>>, lossless: boolean): string {
  let text = '';
  for (const name of Object.keys(frame).sort()) {
    if (name === 'id' || name === 'reqId' || frame[name] === undefined) continue;
    text += `${name}=${stringifyJson(frame[name], lossless)}\n`;
  }
  return oneShotHash ? oneShotHash('sha256', text, 'base64url') : crypto.createHash('sha256').update(text).digest('base64url');
}

export function writeIdentity(frame: Readonly<Record<string, unknown>> & { reqId?: string | undefined }, ctx: OpContext): WriteIdentity | undefined {
  if (frame.reqId === undefined) return undefined;
  return { reqId: frame.reqId, key: reqIdKey(ctx.session.agentId, frame.reqId), fingerprint: requestFingerprint(frame, ctx.lossless) };
}

/** Refusals that a check made before the commit can give, and that a committed first try makes moot. */
const RECALLABLE: ReadonlySet<string> = new Set([ErrorCode.CONFLICT, ErrorCode.NOT_FOUND, ErrorCode.BAD_REQUEST, ErrorCode.INVALID, ErrorCode.TOO_LARGE]);

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
    if (durability === 'durable' && ctx.services.durability.available) await ctx.services.durability.awaitPersisted(board, first.rev);
    return preEncoded<R>(first.resultText);
  }
}
