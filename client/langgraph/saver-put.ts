import type { ChannelVersions, Checkpoint, CheckpointMetadata } from '@langchain/langgraph-checkpoint';
import type { RunnableConfig } from '@langchain/core/runnables';
import { BlackboardError, ErrorCode } from '../sdk/index.js';
import type { SaverContext } from './context.js';
import { LangGraphBoardError, LangGraphErrorCode, ThreadAdvancedError } from './errors.js';
import { ThreadKeys } from './keys.js';
import { asHeadRecord, type CheckpointRecord, type CheckpointShape, type HeadRecord } from './records.js';
import { getOptional } from './scan.js';
import { encodeValue, partKey, type StoredValue } from './stored-value.js';
import { viewOfHead, type KnownChannel, type ThreadView } from './thread-view.js';
import { batchOps, putOp, totalBytes, TXN_MAX_BYTES, TXN_MAX_OPS, type SizedOp } from './txn-batches.js';
import { deleteKeys, retentionPlan } from './retention.js';
import { commitTxn } from './commit.js';

interface PutOptions {
  durability: 'memory' | 'durable';
  /** Keep this many checkpoints per (thread, namespace); undefined keeps all. */
  keep: number | undefined;
}

/** Room in the head for everything but inline channel values. */
const HEAD_MARGIN_BYTES = 1_024;

export function threadOf(config: RunnableConfig, what: string): { threadId: string; checkpointNs: string; checkpointId: string | undefined } {
  const configurable = config.configurable;
  const threadId: unknown = configurable?.thread_id;
  if (!configurable || threadId === undefined || threadId === null || threadId === '') {
    throw new LangGraphBoardError(LangGraphErrorCode.INVALID_CONFIG, `${what} needs config.configurable.thread_id`);
  }
  const ns: unknown = configurable.checkpoint_ns;
  const id: unknown = configurable.checkpoint_id;
  return {
    threadId: String(threadId),
    checkpointNs: typeof ns === 'string' ? ns : '',
    checkpointId: typeof id === 'string' && id !== '' ? id : undefined,
  };
}

/**
 * A writer that has not read the thread reads its head now. It may continue only from the
 * head itself: asked to extend another checkpoint, it would fork a thread it never saw.
 */
async function viewFor(ctx: SaverContext, keys: ThreadKeys, parentId: string | undefined): Promise<ThreadView> {
  const known = ctx.views.get(keys.head);
  if (known) return known;
  const item = await getOptional(ctx.client, ctx.board, keys.head);
  const head = item ? asHeadRecord(item.value, item.key) : undefined;
  const view = viewOfHead(item?.version ?? 0, head);
  if (head && parentId !== undefined && parentId !== head.checkpoint.id) {
    throw new ThreadAdvancedError({
      threadId: keys.threadId,
      checkpointNs: keys.checkpointNs,
      expectedVersion: 0,
      currentVersion: view.version,
      currentCheckpointId: head.checkpoint.id,
    });
  }
  ctx.views.set(keys.head, view);
  return view;
}

async function metadataJson(ctx: SaverContext, metadata: CheckpointMetadata): Promise<unknown> {
  const [type, data] = await ctx.serde.dumpsTyped(metadata);
  if (type !== 'json') throw new LangGraphBoardError(LangGraphErrorCode.CORRUPT, `metadata serialized as ${type}, not json`);
  return JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)) as unknown;
}

function storedBytes(known: KnownChannel): number {
  known.bytes ??= known.stored === undefined ? 0 : Buffer.byteLength(JSON.stringify(known.stored));
  return known.bytes;
}

/** `put`: the head, the checkpoint key and the new channel values in one txn that compares the head's version. */
export async function putCheckpoint(
  ctx: SaverContext,
  options: PutOptions,
  config: RunnableConfig,
  checkpoint: Checkpoint,
  metadata: CheckpointMetadata,
  newVersions: ChannelVersions,
): Promise<RunnableConfig> {
  const { threadId, checkpointNs, checkpointId: parentId } = threadOf(config, 'put');
  const keys = new ThreadKeys(ctx.root, threadId, checkpointNs);
  const recordKey = keys.checkpoint(checkpoint.id);
  const view = await viewFor(ctx, keys, parentId);
  const { channel_values: channelValues, ...rest } = checkpoint;
  const shape = rest as CheckpointShape;
  const versions = shape.channel_versions;

  const blobOps: SizedOp[] = [];
  const known = new Map<string, KnownChannel>();
  const blobIndex: Array<{ channel: string; version: string; parts: string }> = [];
  for (const [channel, version] of Object.entries(newVersions)) {
    if (!(channel in channelValues)) {
      if (versions[channel] === version) known.set(channel, { version, stored: undefined });
      continue;
    }
    const encoded = await encodeValue(ctx.serde, channelValues[channel], ctx.limits);
    const key = keys.blob(channel, version);
    blobOps.push(putOp(key, encoded.stored, encoded.bytes));
    encoded.parts.forEach((part, i) => blobOps.unshift(putOp(partKey(key, encoded.stored, i), part, part.length)));
    blobIndex.push({ channel, version: String(version), parts: 'digest' in encoded.stored ? `${encoded.stored.digest}.${encoded.parts.length}` : '' });
    // A split value stays in its channel key; the head refers to it.
    if (versions[channel] === version && encoded.parts.length === 0) known.set(channel, { version, stored: encoded.stored, bytes: encoded.bytes });
  }
  for (const [channel, version] of Object.entries(versions)) {
    if (channel in newVersions) continue;
    const previous = view.known.get(channel);
    if (previous && previous.version === version) known.set(channel, previous);
  }

  const record: CheckpointRecord = { checkpoint: shape, metadata: await metadataJson(ctx, metadata), ...(parentId !== undefined ? { parent: parentId } : {}) };
  const retention = options.keep === undefined ? undefined : await retentionPlan(ctx, keys, view, { id: checkpoint.id, versions }, blobIndex, options.keep);
  const head: HeadRecord = { ...record, values: {}, refs: {}, ...(retention ? { kept: retention.kept, blobs: retention.blobs } : {}) };
  let room = ctx.limits.maxValueBytes - HEAD_MARGIN_BYTES - Buffer.byteLength(JSON.stringify(head));
  const inline: Record<string, StoredValue> = {};
  for (const [channel, version] of Object.entries(versions)) {
    const channelKnown = known.get(channel);
    if (!channelKnown) head.refs[channel] = version;
    else if (channelKnown.stored !== undefined) {
      const bytes = storedBytes(channelKnown) + channel.length + 8;
      if (bytes <= room) {
        inline[channel] = channelKnown.stored;
        room -= bytes;
      } else {
        head.refs[channel] = version;
        known.delete(channel);
      }
    }
  }
  head.values = inline;
  if (room < 0) {
    throw new LangGraphBoardError(
      LangGraphErrorCode.VALUE_TOO_LARGE,
      `checkpoint ${checkpoint.id}: metadata and versions alone pass ${ctx.limits.maxValueBytes} bytes`,
      {
        threadId,
        checkpointNs,
      },
    );
  }

  const fenced = [{ key: keys.head, version: view.version }];
  const mainOps: SizedOp[] = [putOp(keys.head, head, ctx.limits.maxValueBytes - room), putOp(recordKey, record, Buffer.byteLength(JSON.stringify(record)))];
  const cleanup = retention?.deletes ?? [];
  // Channel values go in the same txn when they fit; otherwise first, in batches (fenced the same way).
  const together = totalBytes(mainOps) + totalBytes(blobOps) <= TXN_MAX_BYTES && mainOps.length + blobOps.length + cleanup.length <= TXN_MAX_OPS;
  const txn = async (ops: SizedOp[]) => commitTxn(ctx.client, ctx.board, { compare: fenced, ops: ops.map((o) => o.op), durability: options.durability });
  let result;
  let tidyLater = !together;
  try {
    if (!together) for (const batch of batchOps(blobOps)) await txn(batch);
    try {
      result = await txn(together ? [...mainOps, ...blobOps, ...cleanup] : mainOps);
    } catch (err) {
      // A key retention meant to delete is gone already (deleted by someone else): put without tidying.
      if (!(together && cleanup.length > 0 && err instanceof BlackboardError && err.code === ErrorCode.NOT_FOUND)) throw err;
      result = await txn([...mainOps, ...blobOps]);
      tidyLater = true;
    }
  } catch (err) {
    if (err instanceof BlackboardError && err.code === ErrorCode.CONFLICT) {
      const failed = (err.details?.failed as Array<{ key: string; actual: number }> | undefined)?.find((f) => f.key === keys.head);
      if (failed) throw new ThreadAdvancedError({ threadId, checkpointNs, expectedVersion: view.version, currentVersion: failed.actual });
    }
    if (err instanceof BlackboardError && err.code === ErrorCode.TOO_LARGE) {
      throw new LangGraphBoardError(
        LangGraphErrorCode.VALUE_TOO_LARGE,
        `checkpoint ${checkpoint.id} is too large for the board: ${err.message}`,
        err.details ?? {},
        { cause: err },
      );
    }
    throw err;
  }
  ctx.views.set(keys.head, {
    version: result.results[0]?.version ?? view.version + 1,
    checkpointId: checkpoint.id,
    known,
    kept: retention?.kept ?? [],
    blobs: retention?.blobs ?? {},
  });
  // Retention deletes that did not go with the put: the head already forgot them, so this is only tidying.
  if (tidyLater && cleanup.length > 0)
    await deleteKeys(
      ctx.client,
      ctx.board,
      cleanup.map((o) => o.op.key),
      options.durability,
    );
  return { configurable: { thread_id: threadId, checkpoint_ns: checkpointNs, checkpoint_id: checkpoint.id } };
}
