import type { ErrorBody } from './errors.js';

/** A key as stored on a board. */
export interface KeyRecord<V = unknown> {
  key: string;
  value: V;
  version: number;
  createRev: number;
  modRev: number;
}

export type JsonPatchOp = { op: string; path: string; value?: unknown; from?: string };

/** One change, as pushed to subscribers and returned by `history`. */
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
export interface PutResult {
  version: number;
  rev: number;
}
export interface PatchResult<V = unknown> {
  version: number;
  rev: number;
  value: V;
}
export interface DeleteResult {
  rev: number;
}
export interface TxnResult {
  rev: number;
  results: Array<{ version?: number; value?: unknown }>;
}
export interface HistoryResult {
  events: BoardEvent[];
  more: boolean;
}
export interface BoardsResult {
  boards: Array<{ board: string; rev: number; epoch: string }>;
  more: boolean;
}
export interface SubscribeResult {
  sub: string;
  rev: number;
  epoch: string;
  snapshot?: KeyRecord[];
  /** The snapshot goes on in `snapshot` pushes. */
  more?: boolean;
}

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

export interface EventsPush {
  push: 'events';
  sub: string;
  events: BoardEvent[];
}
export interface ProgressPush {
  push: 'progress';
  sub: string;
  rev: number;
}
export interface TaskPush {
  push: 'task';
  worker: string;
  task: {
    taskId: string;
    queue: string;
    data: unknown;
    attempt: number;
    checkpoint: unknown;
    progress: number;
    token: string;
  };
}
export interface TaskCancelPush {
  push: 'task.cancel';
  taskId: string;
}
export type Push = EventsPush | ProgressPush | TaskPush | TaskCancelPush;

export const WS_PATH = '/v1/ws';
export const SUBPROTOCOL = 'blackboard.v1';
