// The versioned-register model: the operation record format clients log, and
// its translation into the compact integer form the search runs on.
//
// The search explores millions of (state, operation) steps on hard histories,
// so states are packed into one number (version * valueSpace + valueId) and
// values are interned up front: comparing two states is then one `===`, and
// hashing one needs no string work.

import { ABSENT_VALUE_ID, versionedRegisterSpecification } from './register-specification.js';
import type { SearchModel } from './search.js';
import { unknownWriteGate } from './version-claims.js';

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
export type CasOutput = { readonly ok: true; readonly version: number } | { readonly ok: false; readonly currentVersion?: number };

export type CasOperation = OperationTiming & {
  readonly op: 'cas';
  readonly input: { readonly value: string; readonly ifVersion: number };
  readonly output?: CasOutput;
};

/** `ok: false` is NOT_FOUND: there was nothing to delete. A successful delete implies the key existed. */
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
  readonly readOnly: boolean;
  readonly kind: RegisterOperation['op'];
  /** Written value for write/cas; observed value for read. */
  readonly valueId: number;
  readonly ifVersion: number;
  /** Observed version: read's version, write/cas's new version, a conflict's currentVersion; -1 if not reported. */
  readonly observedVersion: number;
  /** cas: whether it succeeded; delete: whether it removed something. */
  readonly succeeded: boolean;
  /** Interchangeable operations share a class (-1: none); the search takes each class in rank order. */
  readonly symmetryClass: number;
  readonly rankInClass: number;
  readonly source: RegisterOperation;
}

export interface CompiledHistory {
  readonly operations: readonly CompiledOperation[];
  readonly model: SearchModel<CompiledOperation>;
  /** A read that observed a value no operation in the history ever wrote: a violation on its own. */
  readonly readOfUnwrittenValue?: ReadOperation;
}

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
  const unobservedValueId = valueIds.size + 1;
  const classified = withSymmetryClasses(operations, unobservedValueId);
  const model = versionedRegisterSpecification(unobservedValueId + 1, unknownWriteGate(classified));
  return { operations: classified, model, readOfUnwrittenValue };
}

/**
 * Unknown-outcome writes whose value no read ever saw are interchangeable: if a
 * linearization uses the later-called one of two such writes first, swapping
 * them gives another valid linearization (the earlier-called one could take
 * effect there too, and nobody can tell their values apart). The same holds for
 * such CAS operations expecting the same version, and for unknown deletes.
 * Letting the search take each class only in call order removes the factorial
 * number of equivalent choices that otherwise make histories with many
 * timeouts intractable.
 */
function withSymmetryClasses(operations: CompiledOperation[], unobservedValueId: number): CompiledOperation[] {
  const observedValues = new Set<number>();
  for (const operation of operations) if (operation.kind === 'read') observedValues.add(operation.valueId);
  const classIds = new Map<string, number>();
  const classSizes: number[] = [];
  const byCallTime = operations.map((operation, index) => ({ operation, index })).sort((a, b) => a.operation.call - b.operation.call || a.index - b.index);
  const result = [...operations];
  for (const { operation, index } of byCallTime) {
    if (operation.known || operation.kind === 'read') continue;
    if (operation.kind !== 'delete' && observedValues.has(operation.valueId)) continue;
    const classKey = operation.kind === 'cas' ? `cas@${operation.ifVersion}` : operation.kind;
    let classId = classIds.get(classKey);
    if (classId === undefined) {
      classId = classIds.size;
      classIds.set(classKey, classId);
      classSizes.push(0);
    }
    const rankInClass = classSizes[classId] ?? 0;
    classSizes[classId] = rankInClass + 1;
    // Giving their values one shared id lets states reached through different ones coincide in the memo.
    const valueId = operation.kind === 'delete' ? ABSENT_VALUE_ID : unobservedValueId;
    result[index] = { ...operation, symmetryClass: classId, rankInClass, valueId };
  }
  return result;
}

function compileOperation(record: RegisterOperation, known: boolean, intern: (value: string) => number): CompiledOperation {
  const timing = { call: record.call, ret: known ? (record.ret ?? Infinity) : Infinity, known, source: record };
  const unobserved = {
    valueId: ABSENT_VALUE_ID,
    ifVersion: -1,
    observedVersion: -1,
    succeeded: false,
    readOnly: false,
    symmetryClass: -1,
    rankInClass: 0,
  };
  switch (record.op) {
    case 'read': {
      const output = record.output;
      const valueId = output?.value == null ? ABSENT_VALUE_ID : intern(output.value);
      return { ...timing, ...unobserved, kind: 'read', readOnly: true, valueId, observedVersion: output?.version ?? -1 };
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
        readOnly: output?.ok === false, // a reported conflict changed nothing
      };
    }
    case 'delete': {
      // "Nothing to delete" changed nothing; a successful delete may have removed a value.
      const succeeded = known && record.output?.ok === true;
      return { ...timing, ...unobserved, kind: 'delete', succeeded, readOnly: known && !succeeded };
    }
  }
}

function assertWellFormed(record: RegisterOperation): void {
  if (!Number.isFinite(record.call)) throw new TypeError(`operation has no finite call time: ${JSON.stringify(record)}`);
  if (record.ret !== undefined && record.ret < record.call) {
    throw new TypeError(`operation returned before it was called: ${JSON.stringify(record)}`);
  }
}
