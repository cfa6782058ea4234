import type { CheckpointListOptions, CheckpointTuple } from '@langchain/langgraph-checkpoint';
import type { RunnableConfig } from '@langchain/core/runnables';
import type { KeyRecord } from '../sdk/index.js';
import type { SaverContext } from './context.js';
import { ThreadKeys, decodeSegment, encodeSegment, invertCheckpointId, isCheckpointId, parseCheckpointKey } from './keys.js';
import { asCheckpointRecord, type CheckpointRecord } from './records.js';
import { childSegments, scan } from './scan.js';
import { toTuple } from './saver-read.js';
import { channelValuesMany } from './tuple-parts.js';

interface Found {
  keys: ThreadKeys;
  record: CheckpointRecord;
  writeItems: KeyRecord[];
}

/** Metadata filter: every entry equal (as JSON) to the checkpoint metadata's field. */
function matchesFilter(metadata: unknown, filter: Record<string, unknown> | undefined): boolean {
  if (!filter) return true;
  const fields = (typeof metadata === 'object' && metadata !== null ? metadata : {}) as Record<string, unknown>;
  return Object.entries(filter).every(([name, expected]) => JSON.stringify(fields[name]) === JSON.stringify(expected));
}

async function* threadIds(ctx: SaverContext, config: RunnableConfig): AsyncGenerator<string> {
  const given: unknown = config.configurable?.thread_id;
  if (given !== undefined && given !== null && given !== '') {
    yield String(given);
    return;
  }
  for await (const segment of childSegments(ctx.client, ctx.board, `${ctx.root}/`)) yield decodeSegment(segment);
}

async function* namespaces(ctx: SaverContext, threadId: string, config: RunnableConfig): AsyncGenerator<string> {
  const given: unknown = config.configurable?.checkpoint_ns;
  if (typeof given === 'string') {
    yield given;
    return;
  }
  for await (const segment of childSegments(ctx.client, ctx.board, `${ctx.root}/${encodeSegment(threadId)}/`)) yield decodeSegment(segment);
}

/**
 * Checkpoints of one (thread, namespace), newest first, that pass the filters: a scan of
 * its checkpoint keys from just past `before` (ids invert to newest-first key order).
 */
async function scanThread(keys: ThreadKeys, ctx: SaverContext, options: CheckpointListOptions, onlyId: string | undefined, limit: number): Promise<Found[]> {
  const before: unknown = options.before?.configurable?.checkpoint_id;
  const after = typeof before === 'string' && isCheckpointId(before) ? `${keys.head}/${invertCheckpointId(before)}0` : undefined;
  const prefix = onlyId !== undefined ? keys.checkpoint(onlyId) : `${keys.head}/`;
  const found: Found[] = [];
  let current: Found | null = null;
  for await (const item of scan(ctx.client, ctx.board, prefix, after !== undefined ? { after } : {})) {
    const kind = parseCheckpointKey(keys, item.key);
    if (kind?.kind === 'checkpoint') {
      if (found.length >= limit) break;
      const record = asCheckpointRecord(item.value, item.key);
      const id = record.checkpoint.id;
      const passes = (typeof before !== 'string' || id < before) && matchesFilter(record.metadata, options.filter);
      current = passes ? { keys, record, writeItems: [] } : null;
      if (current) found.push(current);
    } else if (current && (kind?.kind === 'write' || kind?.kind === 'part')) {
      current.writeItems.push(item);
    }
  }
  return found;
}

/** `list`: every (thread, namespace) the config names or, when it names none, all of them; newest first. */
export async function* listTuples(ctx: SaverContext, config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  if (limit <= 0) return;
  const onlyId: unknown = config.configurable?.checkpoint_id;
  if (onlyId !== undefined && onlyId !== '' && !isCheckpointId(onlyId)) return;
  const found: Found[] = [];
  for await (const threadId of threadIds(ctx, config)) {
    for await (const ns of namespaces(ctx, threadId, config)) {
      const keys = new ThreadKeys(ctx.root, threadId, ns);
      found.push(...(await scanThread(keys, ctx, options, typeof onlyId === 'string' && onlyId !== '' ? onlyId : undefined, limit)));
    }
  }
  found.sort((a, b) => (a.record.checkpoint.id < b.record.checkpoint.id ? 1 : a.record.checkpoint.id > b.record.checkpoint.id ? -1 : 0));
  const page = found.slice(0, limit);
  const values = await channelValuesMany(
    ctx,
    page.map((f) => ({ keys: f.keys, source: { versions: f.record.checkpoint.channel_versions } })),
  );
  for (let i = 0; i < page.length; i++) {
    const f = page[i]!;
    yield await toTuple(ctx, f.keys, f.record, values[i]!, f.writeItems);
  }
}
