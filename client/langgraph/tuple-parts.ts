import {
  TASKS,
  compareWritesSortKeys,
  maxChannelVersion,
  writesSortKey,
  type CheckpointPendingWrite,
  type ChannelVersions,
} from '@langchain/langgraph-checkpoint';
import type { KeyRecord } from '../sdk/index.js';
import type { SaverContext } from './context.js';
import { type ThreadKeys, parseCheckpointKey } from './keys.js';
import { asStoredValue, asWriteRecord, type CheckpointShape, type WriteRecord } from './records.js';
import { collect, getMany } from './scan.js';
import { decodeValue, partCount, partKey, type StoredValue } from './stored-value.js';
import { nextChannelVersion } from './versions.js';

interface FoundWrite {
  key: string;
  record: WriteRecord;
}

/** Pending writes in `writesSortKey` order (the scan's key order, sorted again by the one comparator). */
export async function pendingWrites(ctx: SaverContext, keys: ThreadKeys, items: readonly KeyRecord[]): Promise<CheckpointPendingWrite[]> {
  const found: FoundWrite[] = [];
  const parts = new Map<string, unknown>();
  for (const item of items) {
    const kind = parseCheckpointKey(keys, item.key);
    if (kind?.kind === 'write') found.push({ key: item.key, record: asWriteRecord(item.value, item.key) });
    else if (kind?.kind === 'part') parts.set(item.key, item.value);
  }
  const writes = found.map((w) => ({ ...w, sortKey: writesSortKey(w.record.path, w.record.task, w.record.idx) }));
  writes.sort((a, b) => compareWritesSortKeys(a.sortKey, b.sortKey));
  return Promise.all(
    writes.map(async ({ key, record }): Promise<CheckpointPendingWrite> => {
      const got = Array.from({ length: partCount(record.value) }, (_, n) => parts.get(partKey(key, record.value, n)));
      return [record.task, record.channel, await decodeValue(ctx.serde, record.value, got)];
    }),
  );
}

/** Where one checkpoint's channel values come from: held inline (the head), or read from channel keys. */
export interface ValueSource {
  versions: ChannelVersions;
  inline?: Record<string, StoredValue>;
  /** With `inline`: the channels to read from channel keys; without: every channel. */
  refs?: Record<string, string | number>;
}

/** Channel values of several checkpoints at once: every channel key read once, parts after. */
export async function channelValuesMany(
  ctx: SaverContext,
  requests: Array<{ keys: ThreadKeys; source: ValueSource }>,
): Promise<Array<Record<string, unknown>>> {
  const wanted = requests.map(({ keys, source }) => {
    const channels = source.inline ? Object.keys(source.refs ?? {}) : Object.keys(source.versions);
    return channels.flatMap((channel) => {
      const version = source.versions[channel] ?? source.refs?.[channel];
      return version === undefined ? [] : [{ channel, key: keys.blob(channel, version) }];
    });
  });
  const blobs = await getMany(
    ctx.client,
    ctx.board,
    wanted.flat().map((w) => w.key),
  );
  const partKeys: string[] = [];
  for (const [key, record] of blobs) {
    if (!record) continue;
    const stored = asStoredValue(record.value, key);
    for (let i = 0; i < partCount(stored); i++) partKeys.push(partKey(key, stored, i));
  }
  const parts = partKeys.length > 0 ? await getMany(ctx.client, ctx.board, partKeys) : new Map<string, KeyRecord | undefined>();
  return Promise.all(
    requests.map(async ({ source }, i) => {
      const values: Record<string, unknown> = {};
      for (const [channel, stored] of Object.entries(source.inline ?? {})) {
        if (channel in source.versions) values[channel] = await decodeValue(ctx.serde, stored);
      }
      for (const { channel, key } of wanted[i]!) {
        const record = blobs.get(key);
        if (!record) continue;
        const stored = asStoredValue(record.value, key);
        const got = Array.from({ length: partCount(stored) }, (_, n) => parts.get(partKey(key, stored, n))?.value);
        values[channel] = await decodeValue(ctx.serde, stored, got);
      }
      return values;
    }),
  );
}

/**
 * Checkpoints of format v < 4 kept pending sends as writes of their parent to TASKS; they
 * are read back as the TASKS channel (as every LangGraph saver does).
 */
export async function migratePendingSends(
  ctx: SaverContext,
  keys: ThreadKeys,
  checkpoint: CheckpointShape & { channel_values: Record<string, unknown> },
  parentId: string | undefined,
): Promise<void> {
  if (checkpoint.v >= 4 || parentId === undefined) return;
  const parentWrites = await pendingWrites(ctx, keys, await collect(ctx.client, ctx.board, `${keys.checkpoint(parentId)}/`));
  const sends = parentWrites.filter(([, channel]) => channel === TASKS).map(([, , value]) => value);
  if (sends.length === 0) return;
  checkpoint.channel_values[TASKS] = sends;
  const versions = Object.values(checkpoint.channel_versions);
  checkpoint.channel_versions[TASKS] = versions.length > 0 ? maxChannelVersion(...versions) : nextChannelVersion(undefined);
}
