// The versioned-register model: the operation record format clients log, and
// its translation into the compact integer form the search runs on.
//
// The search explores millions of (state, operation) steps on hard histories,
// so states are packed into one number (version * valueSpace + valueId) and
// values are interned up front: comparing two states is then one `===`, and
// hashing one needs no string work.

/** What one key holds. Version 0 means absent (value null); each successful write adds 1. */
export interface RegisterState {
  readonly version: number;
  readonly value: string | null;
}

interface OperationTiming {
  readonly client: number | string;
  /** Monotonic timestamp taken just before the request was sent. */
  readonly call: number;
  /** Monotonic timestamp taken when the response arrived; absent when the outcome is unknown. */
  readonly ret?: number;
  /** Timed out / connection lost: the operation may have taken effect at any point after `call`, or never. */
  readonly unknown?: boolean;
  /** Only used by checkKeyedHistory, which checks each key as an independent register. */
  readonly key?: string;
}

export type ReadOperation = OperationTiming & {
  readonly op: 'read';
  readonly input?: unknown;
  readonly output?: RegisterState;
};

export type WriteOperation = OperationTiming & {
  readonly op: 'write';
  readonly input: { readonly value: string };
  /** The version the write created. */
  readonly output?: { readonly version: number };
};

/** `currentVersion` is optional because not every client reports it on a conflict. */
export type CasOutput =
  | { readonly ok: true; readonly version: number }
  | { readonly ok: false; readonly currentVersion?: number };

export type CasOperation = OperationTiming & {
  readonly op: 'cas';
  readonly input: { readonly value: string; readonly ifVersion: number };
  readonly output?: CasOutput;
};

/** `ok: false` means there was nothing to delete (the key was already absent). */
export type DeleteOperation = OperationTiming & {
  readonly op: 'delete';
  readonly input?: unknown;
  readonly output?: { readonly ok: boolean };
};

export type RegisterOperation = ReadOperation | WriteOperation | CasOperation | DeleteOperation;

/** An operation whose response was observed; everything else is pending until the end of time. */
export function hasKnownOutcome(operation: RegisterOperation): boolean {
  return operation.unknown !== true && operation.ret !== undefined && operation.output !== undefined;
}

/** Integer-only form of one operation, indexed 0..n-1 so the search can use bitsets over indices. */
export interface CompiledOperation {
  readonly call: number;
  /** Infinity when the outcome is unknown. */
  readonly ret: number;
  readonly known: boolean;
  readonly kind: RegisterOperation['op'];
  /** Written value for write/cas; observed value for read. */
  readonly valueId: number;
  readonly ifVersion: number;
  /** Observed version: read's version, write/cas's new version, a conflict's currentVersion; -1 if not reported. */
  readonly observedVersion: number;
  /** cas: whether it succeeded; delete: whether it removed something. */
  readonly succeeded: boolean;
  readonly source: RegisterOperation;
}

export interface CompiledHistory {
  readonly operations: readonly CompiledOperation[];
  readonly initialState: number;
  readonly step: (operation: CompiledOperation, state: number) => number;
  /** A read that observed a value no operation in the history ever wrote: a violation on its own. */
  readonly readOfUnwrittenValue?: ReadOperation;
}

/** Returned by `step` when the operation cannot take effect, with its observed outcome, in that state. */
export const CANNOT_LINEARIZE = -1;

const ABSENT_VALUE_ID = 0;

/**
 * Compiles one key's history. `cutTime` takes the prefix of the history up to
 * that instant: operations called later are dropped and operations that had
 * not returned by then become pending (their outcome is not yet known).
 */
export function compileRegisterHistory(records: readonly RegisterOperation[], cutTime = Infinity): CompiledHistory {
  const valueIds = new Map<string, number>();
  const intern = (value: string): number => {
    let id = valueIds.get(value);
    if (id === undefined) {
      id = valueIds.size + 1; // 0 is reserved for "absent"
      valueIds.set(value, id);
    }
    return id;
  };
  for (const record of records) {
    if (record.op === 'write' || record.op === 'cas') intern(record.input.value);
  }
  const writtenValueCount = valueIds.size;

  let readOfUnwrittenValue: ReadOperation | undefined;
  const operations: CompiledOperation[] = [];
  for (const record of records) {
    assertWellFormed(record);
    if (record.call > cutTime) continue;
    const known = hasKnownOutcome(record) && (record.ret ?? Infinity) <= cutTime;
    // A read whose answer nobody saw constrains nothing, so it is not worth a bit in the search.
    if (record.op === 'read' && !known) continue;
    const compiled = compileOperation(record, known, intern);
    if (record.op === 'read' && known && compiled.valueId > writtenValueCount) readOfUnwrittenValue ??= record;
    operations.push(compiled);
  }
  const valueSpace = valueIds.size + 1;
  return { operations, initialState: 0, step: makeStep(valueSpace), readOfUnwrittenValue };
}

function compileOperation(
  record: RegisterOperation,
  known: boolean,
  intern: (value: string) => number,
): CompiledOperation {
  const timing = { call: record.call, ret: known ? (record.ret ?? Infinity) : Infinity, known, source: record };
  const unobserved = { valueId: ABSENT_VALUE_ID, ifVersion: -1, observedVersion: -1, succeeded: false };
  switch (record.op) {
    case 'read': {
      const output = record.output;
      const valueId = output?.value == null ? ABSENT_VALUE_ID : intern(output.value);
      return { ...timing, ...unobserved, kind: 'read', valueId, observedVersion: output?.version ?? -1 };
    }
    case 'write':
      return {
        ...timing,
        ...unobserved,
        kind: 'write',
        valueId: intern(record.input.value),
        observedVersion: known ? (record.output?.version ?? -1) : -1,
      };
    case 'cas': {
      const output = known ? record.output : undefined;
      const observedVersion = output === undefined ? -1 : output.ok ? output.version : (output.currentVersion ?? -1);
      return {
        ...timing,
        ...unobserved,
        kind: 'cas',
        valueId: intern(record.input.value),
        ifVersion: record.input.ifVersion,
        observedVersion,
        succeeded: output?.ok === true,
      };
    }
    case 'delete':
      return { ...timing, ...unobserved, kind: 'delete', succeeded: known && record.output?.ok === true };
  }
}

function assertWellFormed(record: RegisterOperation): void {
  if (!Number.isFinite(record.call)) throw new TypeError(`operation has no finite call time: ${JSON.stringify(record)}`);
  if (record.ret !== undefined && record.ret < record.call) {
    throw new TypeError(`operation returned before it was called: ${JSON.stringify(record)}`);
  }
}

/**
 * The sequential specification. Unknown-outcome operations only return a new
 * state when they would change it: "took effect here without changing
 * anything" is indistinguishable from "never took effect", which the search
 * already covers by placing the operation after everything else (its return
 * is at infinity). Pruning those placements stops pending no-ops from
 * multiplying the number of distinct linearized sets.
 */
function makeStep(valueSpace: number): (operation: CompiledOperation, state: number) => number {
  const pack = (version: number, valueId: number): number => version * valueSpace + valueId;
  return (operation, state) => {
    const version = Math.floor(state / valueSpace);
    const valueId = state - version * valueSpace;
    switch (operation.kind) {
      case 'read':
        return operation.observedVersion === version && operation.valueId === valueId ? state : CANNOT_LINEARIZE;
      case 'write':
        if (operation.known && operation.observedVersion !== version + 1) return CANNOT_LINEARIZE;
        return pack(version + 1, operation.valueId);
      case 'cas':
        if (!operation.known) return version === operation.ifVersion ? pack(version + 1, operation.valueId) : CANNOT_LINEARIZE;
        if (operation.succeeded) {
          const matches = version === operation.ifVersion && operation.observedVersion === version + 1;
          return matches ? pack(version + 1, operation.valueId) : CANNOT_LINEARIZE;
        }
        if (version === operation.ifVersion) return CANNOT_LINEARIZE;
        return operation.observedVersion === -1 || operation.observedVersion === version ? state : CANNOT_LINEARIZE;
      case 'delete':
        // A successful delete is accepted from any state because servers commonly make delete idempotent.
        if (operation.known) return operation.succeeded || version === 0 ? pack(0, ABSENT_VALUE_ID) : CANNOT_LINEARIZE;
        return version === 0 ? CANNOT_LINEARIZE : pack(0, ABSENT_VALUE_ID);
    }
  };
}
