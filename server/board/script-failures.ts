import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { parseRecord, type StoredRecord } from './records.js';

/**
 * Every failure a Lua script reports, by the negative number it returns first. A number
 * means the same thing in every script that returns it (scripts/*.lua say which they
 * return, and a unit test checks both ways), so one table turns any of them into its
 * outcome and its error. Successes are zero or positive and each script's own.
 */
export const SCRIPT_FAILURES = {
  /** A compare found another version; the reply lists each failed compare. */
  compareFailed: { code: -1, error: ErrorCode.CONFLICT, message: 'compare failed' },
  /** The token (lock fencing token, job lock token, rebuild lock value) is not the current holder's, or it lapsed. */
  fenced: { code: -2, error: ErrorCode.FENCED, message: 'the fencing token is not the current holder’s' },
  /** A delete or patch names a key the board does not have; the reply names it. */
  missingKey: { code: -3, error: ErrorCode.NOT_FOUND, message: 'the key does not exist' },
  /** The board has no meta in Redis: never written, lost, or being rebuilt. */
  noMeta: { code: -4, error: ErrorCode.UNAVAILABLE, message: 'board state is being rebuilt; retry' },
  /** Too many revisions are waiting for Postgres (the stream would have to drop some). */
  backlog: { code: -5, error: ErrorCode.UNAVAILABLE, message: 'too many revisions are waiting for Postgres; retry later' },
  /** The reqId was used for a different request (another fingerprint). */
  reqIdReused: { code: -6, error: ErrorCode.CONFLICT, message: 'the reqId was used for a different request' },
  /** What the script would take (a lock's resource, a board's rebuild lock) is held by another. */
  heldByAnother: { code: -7, error: ErrorCode.LOCKED, message: 'held by another' },
  /** BullMQ has no such job. */
  noJob: { code: -8, error: ErrorCode.NOT_FOUND, message: 'no such task' },
  /** The job was not made by the `Queue.add` that named it (the task was already there). */
  /** The task was cancelled. */
  cancelled: { code: -10, error: ErrorCode.CONFLICT, message: 'the task was cancelled' },
  /** The task was lost more often than allowed; the reply says how often. */
  tooManyLosses: { code: -11, error: ErrorCode.CONFLICT, message: 'the task was lost more often than allowed' },
  /** The board already has meta (a rebuild found it alive). */
  hasMeta: { code: -12, error: ErrorCode.CONFLICT, message: 'the board already exists' },
} as const satisfies Record<string, { code: number; error: ErrorCode; message: string }>;

export type FailureName = keyof typeof SCRIPT_FAILURES;

/** A script's failure, decoded: its name, and what the reply carried besides (compares, key, count). */
export type ScriptFailure<N extends FailureName = FailureName> = N extends 'compareFailed'
  ? { readonly ok: false; readonly failure: N; readonly failed: readonly FailedCompareReply[] }
  : N extends 'missingKey'
    ? { readonly ok: false; readonly failure: N; readonly key: string }
    : N extends 'tooManyLosses'
      ? { readonly ok: false; readonly failure: N; readonly losses: number }
      : { readonly ok: false; readonly failure: N };

/** One failed compare as the commit script reports it. */
interface FailedCompareReply {
  key: string;
  expected: number;
  actual: number;
  record: StoredRecord | null;
}

type Reply = ReadonlyArray<string | number | null>;

const BY_CODE = new Map<number, FailureName>();
for (const [name, entry] of Object.entries(SCRIPT_FAILURES) as Array<[FailureName, (typeof SCRIPT_FAILURES)[FailureName]]>) {
  if (BY_CODE.has(entry.code)) throw new Error(`script failure code ${entry.code} has two meanings`);
  BY_CODE.set(entry.code, name);
}

/** The failures that carry nothing but their name: one shared object each, so decoding one allocates nothing. */
const PLAIN = new Map<FailureName, ScriptFailure>();
for (const name of BY_CODE.values()) PLAIN.set(name, Object.freeze({ ok: false, failure: name }) as ScriptFailure);

/** The failure a status code names, or undefined when the code is not a failure. */
export function failureName(code: unknown): FailureName | undefined {
  return typeof code === 'number' && code < 0 ? BY_CODE.get(code) : undefined;
}

/**
 * Decodes a reply whose element `at` (the first unless given) is a failure code: the
 * failure, with what the reply carries for it after the code. `N` is what the script's
 * doc comment says it returns (the unit test of the table checks each script's codes); a
 * code nobody declared is a bug in a script: thrown.
 */
export function decodeFailure<N extends FailureName = FailureName>(reply: Reply, at = 0): ScriptFailure<N> {
  const name = failureName(reply[at]);
  if (name === undefined) throw new Error(`script replied with unknown status ${String(reply[at])}`);
  switch (name) {
    case 'compareFailed': {
      const failed: FailedCompareReply[] = [];
      for (let i = at + 1; i + 3 < reply.length; i += 4) {
        const record = reply[i + 3];
        failed.push({
          key: String(reply[i]),
          expected: Number(reply[i + 1]),
          actual: Number(reply[i + 2]),
          record: parseRecord(record === null ? null : String(record)),
        });
      }
      return { ok: false, failure: name, failed } as ScriptFailure as ScriptFailure<N>;
    }
    case 'missingKey':
      return { ok: false, failure: name, key: String(reply[at + 1]) } as ScriptFailure as ScriptFailure<N>;
    case 'tooManyLosses':
      return { ok: false, failure: name, losses: Number(reply[at + 1]) } as ScriptFailure as ScriptFailure<N>;
    default:
      return PLAIN.get(name) as ScriptFailure<N>;
  }
}

/** Whether a decoded result is the failure `name`. */
export function isFailure<N extends FailureName>(result: { readonly ok: boolean }, name: N): result is ScriptFailure<N> {
  return !result.ok && (result as ScriptFailure).failure === name;
}

/**
 * The error a failure is reported as: the table's code and message, unless the caller
 * words it for its own operation; details as the caller gives them (a missing key's name
 * is always given).
 */
export function failureError(f: ScriptFailure, message?: string, details?: Record<string, unknown>): BlackboardError {
  const entry = SCRIPT_FAILURES[f.failure];
  if (f.failure === 'missingKey') {
    const { key } = f as ScriptFailure<'missingKey'>;
    return new BlackboardError(entry.error, message ?? `key ${key} does not exist`, { key, ...details });
  }
  return new BlackboardError(entry.error, message ?? entry.message, details);
}
