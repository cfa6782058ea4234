import { encodeJson, RawJson } from './json.js';
import { ErrorCode, isErrorCode, type ErrorBody } from './errors.js';
import type { OpName, OpResult } from './messages/index.js';
import type { BoardEvent, KeyRecord, Push, TaskPush } from './types.js';

/**
 * The wire envelope, one module for both sides (PROTOCOL.md, "Requests and replies" and
 * "Pushes"). The server encodes with the `encode*` functions, the SDK reads with
 * `decodeServerFrame`; both compile against the same `OpResult` map, so a field renamed in
 * `messages/` breaks the server's handlers and the SDK's callers alike.
 *
 * Encoding stays string concatenation for speed: stored values and events travel as JSON
 * text (`RawJson`) and are spliced in, never parsed and stringified again.
 */

/** JSON text standing for a `T` (a stored value, an event, a whole earlier result), spliced in verbatim. */
export type PreEncoded<T> = RawJson & { readonly __encodes?: T };

/**
 * `T` as the server may hand it to the encoder: any part of it may already be JSON text.
 * Field names and scalar types are still those of `T`.
 */
type Wire<T> = PreEncoded<T> | (T extends readonly (infer E)[] ? Wire<E>[] : T extends object ? { [K in keyof T]: Wire<T[K]> } : T);

/** What a handler of `op` answers: the op's result, possibly with parts already encoded. */
export type WireResult<Op extends OpName> = Wire<OpResult<Op>>;

/** One event as the schema has it (an events push, a `history` result). */
export type WireEvent = OpResult<'history'>['events'][number];

/** Marks JSON text as an encoded `T` (the text must be one: it is not checked). */
export function preEncoded<T>(text: string): PreEncoded<T> {
  return new RawJson(text) as PreEncoded<T>;
}

export function encodeReply<Op extends OpName>(id: number, result: WireResult<Op>): string {
  return `{"id":${id},"ok":true,"result":${encodeJson(result)}}`;
}

export function encodeError(id: number | null, error: ErrorBody): string {
  return `{"id":${id === null ? 'null' : id},"ok":false,"error":${encodeJson(error)}}`;
}

/** An events push from event fragments already joined with commas (each one event's JSON). */
export function encodeEventsPush(subId: string, joinedEvents: string): string {
  return `{"push":"events","sub":${JSON.stringify(subId)},"events":[${joinedEvents}]}`;
}

export function encodeProgressPush(subId: string, rev: number): string {
  return `{"push":"progress","sub":${JSON.stringify(subId)},"rev":${rev}}`;
}

export function encodeSnapshotPush(subId: string, items: Wire<KeyRecord>[], more: boolean): string {
  return `{"push":"snapshot","sub":${JSON.stringify(subId)},"items":${encodeJson(items)},"more":${more}}`;
}

/**
 * A task delivery; `data` and `checkpoint` are JSON text as stored. Written out field by
 * field (one push per task delivered: the generic walk cost more than the rest of it).
 */
export function encodeTaskPush(worker: string, task: TaskPushFields): string {
  return (
    `{"push":"task","worker":${JSON.stringify(worker)},"task":{"taskId":${JSON.stringify(task.taskId)},"queue":${JSON.stringify(task.queue)},` +
    `"data":${task.data.text},"attempt":${task.attempt},"checkpoint":${task.checkpoint.text},"progress":${task.progress},"token":${JSON.stringify(task.token)}}}`
  );
}

/** A task push's fields, with the stored JSON as text. */
type TaskPushFields = { [K in keyof TaskPush['task']]: K extends 'data' | 'checkpoint' ? PreEncoded<TaskPush['task'][K]> : TaskPush['task'][K] };

export function encodeTaskCancelPush(taskId: string): string {
  return `{"push":"task.cancel","taskId":${JSON.stringify(taskId)}}`;
}

/** A reply as the client reads it. */
type DecodedReply = { kind: 'reply'; id: number | null; ok: true; result: unknown } | { kind: 'reply'; id: number | null; ok: false; error: ErrorBody };
type DecodedPush = { kind: 'push' } & Push;
type ServerFrame = DecodedReply | DecodedPush;

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function errorBody(raw: unknown): ErrorBody {
  if (!isRecord(raw)) return { code: ErrorCode.INTERNAL, message: 'reply without an error body', details: {} };
  return {
    code: isErrorCode(raw.code) ? raw.code : ErrorCode.INTERNAL,
    message: typeof raw.message === 'string' ? raw.message : 'request failed',
    details: isRecord(raw.details) ? raw.details : {},
  };
}

function decodePush(frame: Record<string, unknown>): DecodedPush | null {
  switch (frame.push) {
    case 'events':
      if (typeof frame.sub !== 'string' || !Array.isArray(frame.events)) return null;
      return { kind: 'push', push: 'events', sub: frame.sub, events: frame.events as BoardEvent[] };
    case 'progress':
      if (typeof frame.sub !== 'string' || typeof frame.rev !== 'number') return null;
      return { kind: 'push', push: 'progress', sub: frame.sub, rev: frame.rev };
    case 'snapshot':
      if (typeof frame.sub !== 'string' || !Array.isArray(frame.items)) return null;
      return { kind: 'push', push: 'snapshot', sub: frame.sub, items: frame.items as KeyRecord[], more: frame.more === true };
    case 'task':
      if (typeof frame.worker !== 'string' || !isRecord(frame.task)) return null;
      return { kind: 'push', push: 'task', worker: frame.worker, task: frame.task as TaskPush['task'] };
    case 'task.cancel':
      if (typeof frame.taskId !== 'string') return null;
      return { kind: 'push', push: 'task.cancel', taskId: frame.taskId };
    default:
      return null;
  }
}

/**
 * Reads one frame from the server: a reply or a known push, or null for text that is
 * neither (not JSON, an unknown push: a newer server may send pushes this client does not know).
 * The envelope is checked; a result's own fields are the op's `OpResult` as the server sent it.
 */
export function decodeServerFrame(text: string): ServerFrame | null {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(frame)) return null;
  if ('ok' in frame) {
    const id = typeof frame.id === 'number' ? frame.id : null;
    if (frame.ok === true) return { kind: 'reply', id, ok: true, result: frame.result };
    return { kind: 'reply', id, ok: false, error: errorBody(frame.error) };
  }
  return decodePush(frame);
}
