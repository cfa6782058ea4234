import { BlackboardError, ErrorCode } from '../../../shared/protocol/errors.js';
import { RawJson, stringifyJson } from '../../../shared/protocol/json.js';
import type { OpContext } from '../../gateway/dispatch.js';
import { CompareFailed, type CommitOutcome, type CommitRequest } from '../store.js';
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

/** CONFLICT details for a single-key write: the key's current state, to merge without a read. */
export function currentConflict(key: string, record: StoredRecord | null, expected: number): BlackboardError {
  const current = record
    ? { version: record.version, modRev: record.modRev, value: new RawJson(record.valueText) }
    : { version: 0 };
  return new BlackboardError(ErrorCode.CONFLICT, `version of ${key} is ${current.version}, not ${expected}`, {
    key,
    current,
  });
}

export interface CommitResult {
  outcome: CommitOutcome;
}

/** Commits, waits for Postgres when the write asked for `durable`, and returns the result as raw JSON. */
export async function commitWrite(
  ctx: OpContext,
  request: Omit<CommitRequest, 'actorJson'>,
  durability: 'memory' | 'durable' | undefined,
): Promise<RawJson> {
  const durable = durability === 'durable';
  if (durable && !ctx.services.history) {
    throw new BlackboardError(ErrorCode.UNAVAILABLE, 'durable writes need history (Postgres) on this server');
  }
  const outcome = await ctx.services.store.commit({ ...request, actorJson: ctx.session.actorJson });
  if (durable) await ctx.services.history!.awaitPersisted(request.board, outcome.rev);
  return new RawJson(outcome.resultText);
}

export { CompareFailed };
