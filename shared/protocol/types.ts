import type { z } from 'zod';
import type { ErrorBody } from './errors.js';
import type { keyRecord, boardEvent } from './messages/records.js';
import type { deleteResult, boardsResult, putResult, subscribeResult, txnResult } from './messages/results-kv.js';
import type { eventsPush, progressPush, snapshotPush, taskCancelPush, taskPush } from './messages/pushes.js';
import type { migrationPassReport, taskInfo } from './messages/results-other.js';
import type { OpResult } from './messages/index.js';

/**
 * TypeScript types of what crosses the wire, derived from the zod schemas in
 * `messages/` (the source of docs/protocol.schema.json). Types that carry a caller's value
 * type `V` replace the schema's `unknown` value with it.
 */

type WithValue<T, V> = Omit<T, 'value'> & { value: V };

/** A key as stored on a board. */
export type KeyRecord<V = unknown> = WithValue<z.infer<typeof keyRecord>, V>;

export type JsonPatchOp = { op: string; path: string; value?: unknown; from?: string };

/**
 * One change, as pushed to subscribers and returned by `history`. One flat shape for
 * put and delete (a delete has `version: 0` and no value), as callers read it.
 */
export interface BoardEvent<V = unknown> {
  rev: number;
  key: string;
  type: 'put' | 'delete';
  version: number;
  value?: V;
  patch?: JsonPatchOp[];
  actor: string;
  ts: number;
}

export interface GetResult<V = unknown> extends KeyRecord<V> {
  rev: number;
}
export interface ListResult<V = unknown> {
  items: KeyRecord<V>[];
  rev: number;
  more: boolean;
}
export type PutResult = z.infer<typeof putResult>;
export type PatchResult<V = unknown> = PutResult & { value: V };
export type DeleteResult = z.infer<typeof deleteResult>;
export type TxnResult = z.infer<typeof txnResult>;
export interface HistoryResult {
  events: BoardEvent[];
  more: boolean;
}
export type BoardsResult = z.infer<typeof boardsResult>;
export type SubscribeResult = Omit<z.infer<typeof subscribeResult>, 'snapshot'> & { snapshot?: KeyRecord[] };

/** What `task.get` answers; `R` and `C` type the result and the checkpoint. */
export type TaskInfo<R = unknown, C = unknown> = Omit<z.infer<typeof taskInfo>, 'result' | 'checkpoint'> & { result?: R; checkpoint: C | null };
export type TaskState = TaskInfo['state'];
export type EnqueueResult = OpResult<'task.enqueue'>;
/** A lock taken: `token` fences writes (the revision at which it was taken); `expiresAt` is server time. */
export type LockGrant = OpResult<'lock.acquire'>;
export type LockExtendResult = OpResult<'lock.extend'>;
export type LockReleaseResult = OpResult<'lock.release'>;
export type PresenceResult = OpResult<'presence.set'>;
export type PresenceClearResult = OpResult<'presence.clear'>;
export type SchemaSetResult = OpResult<'schema.set'>;
/** One registered schema version, as `schema.get` answers it and as it is stored under `$schemas/`. */
export type SchemaDefinition = OpResult<'schema.get'>;
export type SchemaListResult = OpResult<'schema.list'>;
export type MigrationPassReport = z.infer<typeof migrationPassReport>;

export interface ReplyOk<R = unknown> {
  id: number;
  ok: true;
  result: R;
}
export interface ReplyError {
  id: number | null;
  ok: false;
  error: ErrorBody;
}
export type Reply<R = unknown> = ReplyOk<R> | ReplyError;

export type EventsPush = Omit<z.infer<typeof eventsPush>, 'events'> & { events: BoardEvent[] };
export type ProgressPush = z.infer<typeof progressPush>;
export type SnapshotPush = Omit<z.infer<typeof snapshotPush>, 'items'> & { items: KeyRecord[] };
export type TaskPush = z.infer<typeof taskPush>;
export type TaskCancelPush = z.infer<typeof taskCancelPush>;
export type Push = EventsPush | ProgressPush | SnapshotPush | TaskPush | TaskCancelPush;

/** Every event the schema allows is a BoardEvent (compile-time check that the two agree). */
type Agrees<Narrow, Wide> = [Narrow] extends [Wide] ? true : never;
export const boardEventAgrees: Agrees<z.infer<typeof boardEvent>, BoardEvent> = true;

export const WS_PATH = '/v1/ws';
export const SUBPROTOCOL = 'blackboard.v1';
