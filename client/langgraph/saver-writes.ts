import { WRITES_IDX_MAP, type PendingWrite } from '@langchain/langgraph-checkpoint';
import type { RunnableConfig } from '@langchain/core/runnables';
import { BlackboardError, ErrorCode } from '../sdk/index.js';
import type { SaverContext } from './context.js';
import { LangGraphBoardError, LangGraphErrorCode } from './errors.js';
import { ThreadKeys, encodeSegment } from './keys.js';
import type { WriteRecord } from './records.js';
import { deleteKeys } from './retention.js';
import { collect } from './scan.js';
import { threadOf } from './saver-put.js';
import { encodeValue, partKey } from './stored-value.js';
import { batchOps, putOp, type SizedOp } from './txn-batches.js';
import { commitTxn } from './commit.js';

interface PlannedWrite {
  key: string;
  op: SizedOp;
  /** Parts of a split value: written first, so the write never names a part that is not there. */
  parts: SizedOp[];
}

/**
 * `putWrites`: one key per write under its checkpoint, named by (task path, task id, idx)
 * so a scan returns them in `writesSortKey` order. As in LangGraph's own savers, a regular
 * write is stored once (a repeat of the same task's write is ignored: `ifVersion: 0`), a
 * special one (error, interrupt, resume, scheduled: negative idx) replaces the previous.
 */
export async function putPendingWrites(
  ctx: SaverContext,
  durability: 'memory' | 'durable',
  config: RunnableConfig,
  writes: PendingWrite[],
  taskId: string,
  taskPath = '',
): Promise<void> {
  const { threadId, checkpointNs, checkpointId } = threadOf(config, 'putWrites');
  if (checkpointId === undefined) throw new LangGraphBoardError(LangGraphErrorCode.INVALID_CONFIG, 'putWrites needs config.configurable.checkpoint_id');
  const keys = new ThreadKeys(ctx.root, threadId, checkpointNs);
  const planned = new Map<string, PlannedWrite>();
  for (const [i, [channel, value]] of writes.entries()) {
    const idx = WRITES_IDX_MAP[channel] ?? i;
    const key = keys.write(checkpointId, taskPath, taskId, idx);
    const encoded = await encodeValue(ctx.serde, value, ctx.limits);
    const record: WriteRecord = { task: taskId, channel, path: taskPath, idx, value: encoded.stored };
    const op = putOp(key, record, encoded.bytes + taskId.length + taskPath.length + channel.length + 64, idx >= 0 ? 0 : undefined);
    planned.set(key, { key, op, parts: encoded.parts.map((part, n) => putOp(partKey(key, encoded.stored, n), part, part.length)) });
  }
  for (const batch of batchOps([...planned.values()].flatMap((w) => w.parts))) {
    await commitTxn(ctx.client, ctx.board, { compare: [], ops: batch.map((o) => o.op), durability });
  }
  let pending = [...planned.values()];
  // Bounded: each round either commits a batch or drops at least one write that is stored already.
  while (pending.length > 0) {
    const batch = batchOps(pending.map((w) => w.op))[0]!;
    const inBatch = new Set(batch.map((o) => o.op.key));
    try {
      await commitTxn(ctx.client, ctx.board, { compare: [], ops: batch.map((o) => o.op), durability });
      pending = pending.filter((w) => !inBatch.has(w.key));
    } catch (err) {
      const failed =
        err instanceof BlackboardError && err.code === ErrorCode.CONFLICT ? (err.details?.failed as Array<{ key: string }> | undefined) : undefined;
      if (!failed || failed.length === 0) throw err;
      const present = new Set(failed.map((f) => f.key));
      pending = pending.filter((w) => !present.has(w.key));
    }
  }
}

/** `deleteThread`: every key of the thread, in bounded txns, the heads first (so the thread reads as gone at once). */
export async function deleteThreadKeys(ctx: SaverContext, durability: 'memory' | 'durable', threadId: string): Promise<void> {
  const prefix = `${ctx.root}/${encodeSegment(String(threadId))}/`;
  const items = await collect(ctx.client, ctx.board, prefix);
  const isHead = (key: string) => key.endsWith('/checkpoints') && key.split('/').length === prefix.split('/').length + 1;
  const keys = items.map((item) => item.key);
  await deleteKeys(ctx.client, ctx.board, [...keys.filter(isHead), ...keys.filter((k) => !isHead(k))], durability);
  ctx.views.deleteWhere((headKey) => headKey.startsWith(prefix));
}
