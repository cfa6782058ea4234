import { BlackboardError, ErrorCode, badRequest } from '../../../shared/protocol/errors.js';
import { stringifyJson } from '../../../shared/protocol/json.js';
import type { JsonPatch, TxnOperation } from '../../../shared/protocol/messages/kv.js';
import type { HandlerTable, OpContext } from '../../extension.js';
import { SCHEMAS } from '../../services.js';
import { applyJsonPatch, patchBudgetFor, type PatchBudget } from '../patch.js';
import { KeyQueue } from '../key-queue.js';
import type { StoredRecord } from '../records.js';
import type { Compare, WriteOp } from '../store.js';
import {
  CompareFailed,
  commitWrite,
  firstResultOr,
  writeIdentity,
  type WriteResult,
  currentConflict,
  forbidServerKey,
  valueText,
  checkValueSize,
  withCurrentState,
} from './write-common.js';

/** The patched value as JSON text; a failing `test` op is CONFLICT with the state it was tested against. */
function patchedText(ctx: OpContext, key: string, record: StoredRecord, patch: JsonPatch, budget: PatchBudget = patchBudgetFor(ctx)): string {
  let text: string;
  try {
    text = applyJsonPatch(record.valueText, patch, ctx.lossless, budget);
  } catch (err) {
    throw withCurrentState(err, key, record);
  }
  checkValueSize(text, ctx);
  return text;
}

/** Applies a patch to the latest value, retrying on concurrent change unless ifVersion pins it. */
async function patchWithRetry(
  ctx: OpContext,
  board: string,
  key: string,
  patch: JsonPatch,
  ifVersion: number | undefined,
  commit: (op: WriteOp, compare: Compare) => Promise<WriteResult<'patch'>>,
): Promise<WriteResult<'patch'>> {
  const { store, config } = ctx.services;
  const patchText = stringifyJson(patch, ctx.lossless);
  let record = (await store.read(board, key)).record;
  for (let attempt = 0; attempt < config.PATCH_RETRIES; attempt++) {
    if (ifVersion === 0 || (ifVersion !== undefined && record?.version !== ifVersion)) {
      throw currentConflict(key, record, ifVersion);
    }
    if (!record) throw new BlackboardError(ErrorCode.NOT_FOUND, `key ${key} does not exist`, { key });
    const text = patchedText(ctx, key, record, patch);
    const schemaVersion = await ctx.services.capabilities.get(SCHEMAS)?.check(board, key, text);
    try {
      return await commit({ kind: 'patch', key, valueText: text, patchText, schemaVersion }, { key, version: record.version });
    } catch (err) {
      if (!(err instanceof CompareFailed)) throw err;
      // The failed compare carries the key's current state: retry on it without a read.
      record = err.failed[0]?.record ?? null;
      if (ifVersion !== undefined) throw currentConflict(key, record, ifVersion);
      // Other nodes won the race: back off a little, more after each loss.
      if (attempt > 2) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 2)));
    }
  }
  throw new BlackboardError(ErrorCode.CONFLICT, `patch of ${key} lost ${config.PATCH_RETRIES} races in a row; retry`, {
    key,
  });
}

function singleConflict(err: unknown, key: string, expected: number | undefined): unknown {
  if (err instanceof CompareFailed) {
    const failed = err.failed[0];
    return currentConflict(key, failed?.record ?? null, failed?.expected ?? expected ?? 0);
  }
  return err;
}

const patchQueue = new KeyQueue();

export const writeHandlers: HandlerTable = {
  async put(frame, ctx) {
    forbidServerKey(frame.key);
    const identity = writeIdentity(frame, ctx);
    return firstResultOr(ctx, frame.board, identity, frame.durability, async () => {
      const text = valueText(frame.value, ctx);
      const schemaVersion = await ctx.services.capabilities.get(SCHEMAS)?.check(frame.board, frame.key, text);
      const compares = frame.ifVersion === undefined ? [] : [{ key: frame.key, version: frame.ifVersion }];
      try {
        return await commitWrite(
          ctx,
          { board: frame.board, fence: frame.fence, shape: 'put', compares, ops: [{ kind: 'put', key: frame.key, valueText: text, schemaVersion }] },
          identity,
          frame.durability,
        );
      } catch (err) {
        throw singleConflict(err, frame.key, frame.ifVersion);
      }
    });
  },

  async patch(frame, ctx) {
    forbidServerKey(frame.key);
    const { board, key } = frame;
    const identity = writeIdentity(frame, ctx);
    return patchQueue.run(`${board}\n${key}`, () =>
      firstResultOr(ctx, board, identity, frame.durability, () =>
        patchWithRetry(ctx, board, key, frame.patch, frame.ifVersion, (op, compare) =>
          commitWrite(ctx, { board, fence: frame.fence, shape: 'patch', compares: [compare], ops: [op] }, identity, frame.durability),
        ),
      ),
    );
  },

  async delete(frame, ctx) {
    forbidServerKey(frame.key);
    const { board, key, ifVersion } = frame;
    const identity = writeIdentity(frame, ctx);
    return firstResultOr(ctx, board, identity, frame.durability, async () => {
      if (ifVersion === 0) throw currentConflict(key, (await ctx.services.store.read(board, key)).record, 0);
      const compares = ifVersion === undefined ? [] : [{ key, version: ifVersion }];
      try {
        return await commitWrite(ctx, { board, fence: frame.fence, shape: 'delete', compares, ops: [{ kind: 'delete', key }] }, identity, frame.durability);
      } catch (err) {
        throw singleConflict(err, key, ifVersion);
      }
    });
  },

  async txn(frame, ctx) {
    const keys = new Set<string>();
    for (const op of frame.ops) {
      forbidServerKey(op.key);
      if (keys.has(op.key)) throw badRequest(`txn touches ${op.key} twice`, { key: op.key });
      keys.add(op.key);
    }
    const identity = writeIdentity(frame, ctx);
    return firstResultOr(ctx, frame.board, identity, frame.durability, () => runTxn(frame, ctx, identity));
  },
};

type TxnFrame = Parameters<NonNullable<HandlerTable['txn']>>[0];

async function runTxn(frame: TxnFrame, ctx: OpContext, identity: ReturnType<typeof writeIdentity>): Promise<WriteResult<'txn'>> {
  // Every compare counts, in request order: `compare` first, then each op's ifVersion.
  const userCompares: Compare[] = [...frame.compare];
  for (const op of frame.ops) if (op.ifVersion !== undefined) userCompares.push({ key: op.key, version: op.ifVersion });
  const compared = new Set(userCompares.map((c) => c.key));
  const { config } = ctx.services;
  for (let attempt = 0; attempt < config.PATCH_RETRIES; attempt++) {
    const implicit: Compare[] = [];
    const ops: WriteOp[] = [];
    // One work budget for every patch of the txn: many small patches cost as much as one big one.
    const budget = patchBudgetFor(ctx);
    for (const op of frame.ops) ops.push(await txnWriteOp(op, ctx, frame.board, compared, implicit, budget));
    const schemas = ctx.services.capabilities.get(SCHEMAS);
    for (const op of ops) {
      if (op.valueText !== undefined && !missingTargets.has(op)) op.schemaVersion = await schemas?.check(frame.board, op.key, op.valueText);
    }
    try {
      return await commitWrite(
        ctx,
        { board: frame.board, fence: frame.fence, shape: 'txn', compares: [...userCompares, ...implicit], ops },
        identity,
        frame.durability,
      );
    } catch (err) {
      if (!(err instanceof CompareFailed)) throw err;
      // Implicit compares (the versions patches were computed from) are on keys no user compare names.
      const failedUser = err.failed.filter((f) => compared.has(f.key));
      if (failedUser.length > 0) {
        throw new BlackboardError(ErrorCode.CONFLICT, 'txn compare failed', {
          failed: failedUser.map((f) => ({ key: f.key, expected: f.expected, actual: f.actual })),
        });
      }
      // Only a value a patch was computed from changed: compute again.
    }
  }
  throw new BlackboardError(ErrorCode.CONFLICT, `txn lost ${config.PATCH_RETRIES} races in a row; retry`);
}

/**
 * Patch ops whose key was missing when read. They go to the commit all the same (never
 * written: the script refuses a patch of a missing key), so that the txn's compares are
 * judged first, as for a delete; an implicit "still absent" compare catches a key created
 * meanwhile, and the txn is then computed again.
 */
const missingTargets = new WeakSet<WriteOp>();

async function txnWriteOp(
  op: TxnOperation,
  ctx: OpContext,
  board: string,
  compared: ReadonlySet<string>,
  implicit: Compare[],
  budget: PatchBudget,
): Promise<WriteOp> {
  if (op.op === 'put') return { kind: 'put', key: op.key, valueText: valueText(op.value, ctx) };
  if (op.op === 'delete') return { kind: 'delete', key: op.key };
  const { record } = await ctx.services.store.read(board, op.key);
  if (!compared.has(op.key)) implicit.push({ key: op.key, version: record?.version ?? 0 });
  if (!record) {
    const placeholder: WriteOp = { kind: 'patch', key: op.key, valueText: 'null', patchText: '' };
    missingTargets.add(placeholder);
    return placeholder;
  }
  return { kind: 'patch', key: op.key, valueText: patchedText(ctx, op.key, record, op.patch, budget), patchText: stringifyJson(op.patch, ctx.lossless) };
}
