import { z } from 'zod';
import { boardName, durability, fence, jsonValue, keyPath, positiveInt, reqId, request, revision } from './common.js';

export const jsonPatchOperation = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('add'), path: z.string(), value: jsonValue }),
  z.strictObject({ op: z.literal('remove'), path: z.string() }),
  z.strictObject({ op: z.literal('replace'), path: z.string(), value: jsonValue }),
  z.strictObject({ op: z.literal('move'), path: z.string(), from: z.string() }),
  z.strictObject({ op: z.literal('copy'), path: z.string(), from: z.string() }),
  z.strictObject({ op: z.literal('test'), path: z.string(), value: jsonValue }),
]);
export const jsonPatch = z.array(jsonPatchOperation).max(10_000);
export type JsonPatch = z.infer<typeof jsonPatch>;

const writeOptions = {
  fence: fence.optional(),
  reqId: reqId.optional(),
  durability: durability.optional(),
};

const getRequest = request('get', {
  board: boardName,
  key: keyPath,
  atRev: revision.optional(),
  /** Typed keys: the value migrated to this schema version (INVALID when no migration path leads there). */
  schemaVersion: positiveInt.optional(),
});

const listRequest = request('list', {
  board: boardName,
  prefix: z.string().max(512),
  atRev: revision.optional(),
  limit: z.number().int().min(1).max(10_000).optional(),
  after: z.string().max(512).optional(),
});

const putRequest = request('put', {
  board: boardName,
  key: keyPath,
  value: jsonValue,
  ifVersion: revision.optional(),
  ...writeOptions,
});

const patchRequest = request('patch', {
  board: boardName,
  key: keyPath,
  patch: jsonPatch,
  ifVersion: revision.optional(),
  ...writeOptions,
});

const deleteRequest = request('delete', {
  board: boardName,
  key: keyPath,
  ifVersion: revision.optional(),
  ...writeOptions,
});

const txnOperation = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('put'), key: keyPath, value: jsonValue, ifVersion: revision.optional() }),
  z.strictObject({ op: z.literal('patch'), key: keyPath, patch: jsonPatch, ifVersion: revision.optional() }),
  z.strictObject({ op: z.literal('delete'), key: keyPath, ifVersion: revision.optional() }),
]);
export type TxnOperation = z.infer<typeof txnOperation>;

const txnRequest = request('txn', {
  board: boardName,
  compare: z.array(z.strictObject({ key: keyPath, version: revision })).max(1_000),
  ops: z.array(txnOperation).min(1).max(1_000),
  ...writeOptions,
});

const historyRequest = request('history', {
  board: boardName,
  key: keyPath.optional(),
  fromRev: revision.optional(),
  toRev: revision.optional(),
  limit: z.number().int().min(1).max(10_000).optional(),
});

const boardsRequest = request('boards', {
  prefix: z.string().max(64).optional(),
  /** Exclusive cursor: the last board of the previous page. */
  after: z.string().max(64).optional(),
  limit: z.number().int().min(1).max(10_000).optional(),
});

export const kvRequests = {
  get: getRequest,
  list: listRequest,
  put: putRequest,
  patch: patchRequest,
  delete: deleteRequest,
  txn: txnRequest,
  history: historyRequest,
  boards: boardsRequest,
} as const;
