import type { ChannelVersions } from '@langchain/langgraph-checkpoint';
import { LangGraphBoardError, LangGraphErrorCode } from './errors.js';
import { isStoredValue, type StoredValue } from './stored-value.js';

/** A checkpoint without its channel values (those live in channel keys, and inline in the head). */
export interface CheckpointShape {
  v: number;
  id: string;
  ts: string;
  channel_versions: ChannelVersions;
  versions_seen: Record<string, ChannelVersions>;
}

/** `…/checkpoints/<inverted id>`: one checkpoint. */
export interface CheckpointRecord {
  checkpoint: CheckpointShape;
  /** The metadata as the serializer writes it (plain JSON). */
  metadata: unknown;
  parent?: string;
}

/** One retained checkpoint, as the head lists them when retention is on. */
export interface KeptCheckpoint {
  id: string;
  versions: ChannelVersions;
}

/**
 * `…/checkpoints`: the head, i.e. the latest checkpoint with its channel values, so that
 * reading the latest checkpoint is one request. Puts compare its version (fencing).
 */
export interface HeadRecord extends CheckpointRecord {
  /** Channel values held here (the ones that fit; see `refs`). */
  values: Record<string, StoredValue>;
  /** Channels whose value is read from its channel key instead (too large, or not known to the writer). */
  refs: Record<string, string | number>;
  /** With retention: the retained checkpoints, newest first. */
  kept?: KeptCheckpoint[];
  /** With retention: every channel key of this thread, as channel → version → `<digest>.<parts>` (split values) or "". */
  blobs?: Record<string, Record<string, string>>;
}

/** `…/checkpoints/<inverted id>/<write segment>`: one pending write. */
export interface WriteRecord {
  task: string;
  channel: string;
  path: string;
  idx: number;
  value: StoredValue;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function corrupt(what: string, key: string): LangGraphBoardError {
  return new LangGraphBoardError(LangGraphErrorCode.CORRUPT, `${key} does not hold a ${what} in this adapter's layout`, { key });
}

function isCheckpointShape(value: unknown): value is CheckpointShape {
  return isObject(value) && typeof value.id === 'string' && typeof value.v === 'number' && isObject(value.channel_versions);
}

export function asCheckpointRecord(value: unknown, key: string): CheckpointRecord {
  if (!isObject(value) || !isCheckpointShape(value.checkpoint)) throw corrupt('checkpoint', key);
  return value as unknown as CheckpointRecord;
}

export function asHeadRecord(value: unknown, key: string): HeadRecord {
  const record = asCheckpointRecord(value, key) as HeadRecord;
  if (!isObject(record.values) || !isObject(record.refs)) throw corrupt('thread head', key);
  return record;
}

export function asWriteRecord(value: unknown, key: string): WriteRecord {
  if (!isObject(value) || typeof value.task !== 'string' || typeof value.channel !== 'string' || !isStoredValue(value.value)) {
    throw corrupt('pending write', key);
  }
  return value as unknown as WriteRecord;
}

export function asStoredValue(value: unknown, key: string): StoredValue {
  if (!isStoredValue(value)) throw corrupt('channel value', key);
  return value;
}
