import { z } from 'zod';
import { jsonValue, positiveInt, revision } from './common.js';
import { boardEvent, keyRecord } from './records.js';

/** Results of the key-value and subscription ops (the `result` of an `ok: true` reply). */

/** Present (true) when Redis could not answer and Postgres alone did (reads with `atRev`, `history`). */
const degraded = z.literal(true).optional();

const getResult = keyRecord.extend({
  rev: revision.describe('The board’s current revision (with `atRev`: that revision).'),
  schemaVersion: positiveInt.optional().describe('Typed keys: the schema version the value is given in.'),
  degraded,
});

const listResult = z.object({
  items: z.array(keyRecord).describe('Ascending byte order of the keys.'),
  rev: revision,
  more: z.boolean().describe('More keys follow: ask again with `after` = the last key.'),
  degraded,
});

export const putResult = z.object({ version: positiveInt, rev: positiveInt });
const patchResult = z.object({ version: positiveInt, rev: positiveInt, value: jsonValue });
export const deleteResult = z.object({ rev: positiveInt });

/** One per op, in order: put → `{version}`, patch → `{version, value}`, delete → `{}`. */
const txnOpResult = z.object({ version: positiveInt.optional(), value: jsonValue.optional() });
export const txnResult = z.object({ rev: positiveInt, results: z.array(txnOpResult).min(1) });

const historyResult = z.object({
  events: z.array(boardEvent).describe('Oldest first.'),
  more: z.boolean().describe('Later events follow: ask again from the revision after the last one (or the same revision, if `limit` cut it).'),
  degraded,
});

export const boardsResult = z.object({
  boards: z.array(z.object({ board: z.string(), rev: positiveInt, epoch: z.string() })),
  more: z.boolean().describe('More boards follow: ask again with `after` = the last board.'),
});

export const subscribeResult = z.object({
  sub: z.string(),
  rev: revision.describe('With `snapshot`: the revision the snapshot is as of; events start at rev + 1.'),
  epoch: z.string(),
  snapshot: z.array(keyRecord).optional().describe('With `snapshot: true`: the matching keys (the first part, when `more` is set).'),
  more: z.literal(true).optional().describe('The snapshot continues in `snapshot` pushes, the last with `more: false`, before any event.'),
});

const unsubscribeResult = z.object({ ok: z.literal(true) });

export const kvResults = {
  get: getResult,
  list: listResult,
  put: putResult,
  patch: patchResult,
  delete: deleteResult,
  txn: txnResult,
  history: historyResult,
  boards: boardsResult,
  subscribe: subscribeResult,
  unsubscribe: unsubscribeResult,
} as const;
