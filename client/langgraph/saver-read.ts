import type { CheckpointTuple } from '@langchain/langgraph-checkpoint';
import type { KeyRecord } from '../sdk/index.js';
import type { SaverContext } from './context.js';
import { type ThreadKeys, isCheckpointId } from './keys.js';
import { asCheckpointRecord, asHeadRecord, type CheckpointRecord, type HeadRecord } from './records.js';
import { SCAN_PAGE, collect, getOptional } from './scan.js';
import { viewOfHead } from './thread-view.js';
import { channelValuesMany, migratePendingSends, pendingWrites, type ValueSource } from './tuple-parts.js';

/**
 * Keys read by the first request for the latest checkpoint: the head, the newest checkpoint
 * and its pending writes come first in key order, so one page usually holds all of them
 * (bounded like every scan page, see SCAN_PAGE).
 */
const LATEST_PAGE = SCAN_PAGE;

/** Builds the tuple LangGraph expects from what was read. */
export async function toTuple(
  ctx: SaverContext,
  keys: ThreadKeys,
  record: CheckpointRecord,
  values: Record<string, unknown>,
  writeItems: readonly KeyRecord[],
): Promise<CheckpointTuple> {
  const { thread_id, checkpoint_ns } = { thread_id: keys.threadId, checkpoint_ns: keys.checkpointNs };
  const checkpoint = { ...record.checkpoint, channel_versions: { ...record.checkpoint.channel_versions }, channel_values: values };
  await migratePendingSends(ctx, keys, checkpoint, record.parent);
  const tuple: CheckpointTuple = {
    config: { configurable: { thread_id, checkpoint_ns, checkpoint_id: record.checkpoint.id } },
    checkpoint,
    metadata: (await ctx.serde.loadsTyped('json', JSON.stringify(record.metadata ?? {}))) as CheckpointTuple['metadata'],
    pendingWrites: await pendingWrites(ctx, keys, writeItems),
  };
  if (record.parent !== undefined) tuple.parentConfig = { configurable: { thread_id, checkpoint_ns, checkpoint_id: record.parent } };
  return tuple;
}

function headSource(head: HeadRecord): ValueSource {
  return { versions: head.checkpoint.channel_versions, inline: head.values, refs: head.refs };
}

/** The latest checkpoint: one `list` from the head key, which sorts before every checkpoint of the thread. */
export async function readLatest(ctx: SaverContext, keys: ThreadKeys): Promise<CheckpointTuple | undefined> {
  const page = await ctx.client.list(ctx.board, keys.head, { limit: LATEST_PAGE });
  const first = page.items[0];
  if (!first || first.key !== keys.head) {
    ctx.views.offer(keys.head, viewOfHead(0, undefined));
    return undefined;
  }
  const head = asHeadRecord(first.value, first.key);
  ctx.views.offer(keys.head, viewOfHead(first.version, head));
  const recordKey = keys.checkpoint(head.checkpoint.id);
  const writePrefix = `${recordKey}/`;
  let writeItems: KeyRecord[];
  if (page.items[1]?.key === recordKey) {
    // The head's checkpoint is the newest by id: its writes follow it in the same page.
    writeItems = [];
    let runsToEnd = true;
    for (const item of page.items.slice(2)) {
      if (!item.key.startsWith(writePrefix)) {
        runsToEnd = false;
        break;
      }
      writeItems.push(item);
    }
    const last = page.items[page.items.length - 1];
    if (runsToEnd && page.more && last) writeItems.push(...(await collect(ctx.client, ctx.board, writePrefix, { after: last.key })));
  } else {
    writeItems = await collect(ctx.client, ctx.board, writePrefix);
  }
  const [values] = await channelValuesMany(ctx, [{ keys, source: headSource(head) }]);
  return toTuple(ctx, keys, head, values!, writeItems);
}

/** One checkpoint by id: its key and writes in one `list`, the head read beside it (its values are inline there). */
export async function readById(ctx: SaverContext, keys: ThreadKeys, checkpointId: string): Promise<CheckpointTuple | undefined> {
  if (!isCheckpointId(checkpointId)) return undefined;
  const recordKey = keys.checkpoint(checkpointId);
  const [headItem, items] = await Promise.all([getOptional(ctx.client, ctx.board, keys.head), collect(ctx.client, ctx.board, recordKey)]);
  const head = headItem ? asHeadRecord(headItem.value, headItem.key) : undefined;
  ctx.views.offer(keys.head, viewOfHead(headItem?.version ?? 0, head));
  const first = items[0];
  if (!first || first.key !== recordKey) return undefined;
  const record = asCheckpointRecord(first.value, first.key);
  const source: ValueSource = head && head.checkpoint.id === checkpointId ? headSource(head) : { versions: record.checkpoint.channel_versions };
  const [values] = await channelValuesMany(ctx, [{ keys, source }]);
  return toTuple(ctx, keys, record, values!, items.slice(1));
}
