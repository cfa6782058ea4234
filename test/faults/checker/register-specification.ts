// The sequential specification of a versioned register, over packed states
// (version * valueSpace + valueId), as the search consumes it.

import type { CompiledOperation } from './register-model.js';
import { CANNOT_LINEARIZE, type SearchModel } from './search.js';
import type { UnknownWriteGate } from './version-claims.js';

/** The value id of "no value": the key is absent. */
export const ABSENT_VALUE_ID = 0;

export function versionedRegisterSpecification(valueSpace: number, mayCreate: UnknownWriteGate): SearchModel<CompiledOperation> {
  const pack = (version: number, valueId: number): number => version * valueSpace + valueId;
  const versionOf = (state: number): number => Math.floor(state / valueSpace);

  /**
   * Unknown-outcome operations only return a new state when they would change
   * it: "took effect here without changing anything" is indistinguishable from
   * "never took effect", which the search already covers by leaving the
   * operation out. Pruning those placements stops pending no-ops from
   * multiplying the number of distinct linearized sets.
   */
  const step = (operation: CompiledOperation, state: number): number => {
    const version = versionOf(state);
    const valueId = state - version * valueSpace;
    switch (operation.kind) {
      case 'read':
        return operation.observedVersion === version && operation.valueId === valueId ? state : CANNOT_LINEARIZE;
      case 'write':
        if (operation.known && operation.observedVersion !== version + 1) return CANNOT_LINEARIZE;
        if (!operation.known && !mayCreate(version + 1, operation.valueId)) return CANNOT_LINEARIZE;
        return pack(version + 1, operation.valueId);
      case 'cas':
        if (!operation.known) {
          const applies = version === operation.ifVersion && mayCreate(version + 1, operation.valueId);
          return applies ? pack(version + 1, operation.valueId) : CANNOT_LINEARIZE;
        }
        if (operation.succeeded) {
          const matches = version === operation.ifVersion && operation.observedVersion === version + 1;
          return matches ? pack(version + 1, operation.valueId) : CANNOT_LINEARIZE;
        }
        if (version === operation.ifVersion) return CANNOT_LINEARIZE;
        return operation.observedVersion === -1 || operation.observedVersion === version ? state : CANNOT_LINEARIZE;
      case 'delete':
        // Blackboard answers NOT_FOUND (ok: false) for a missing key, so success needs one to exist.
        if (operation.known) return operation.succeeded === version > 0 ? pack(0, ABSENT_VALUE_ID) : CANNOT_LINEARIZE;
        return version === 0 ? CANNOT_LINEARIZE : pack(0, ABSENT_VALUE_ID);
    }
  };

  /**
   * Unknown operations that took effect can be assumed to form minimal blocks
   * just before the known operation that needed them (any other placement can
   * be simplified to one, see search.ts). A minimal block is at most one
   * delete followed by writes that raise the version one by one up to what
   * that known operation requires, so a block whose version already exceeds
   * it can serve nothing.
   */
  const blockCanServe = (blockStart: number, state: number, known: CompiledOperation): boolean => {
    const version = versionOf(state);
    return version === 0 || version <= requiredVersion(known, versionOf(blockStart));
  };

  return { initialState: pack(0, ABSENT_VALUE_ID), step, blockCanServe };
}

/** The version `known` needs to find when it takes effect, or a bound on what a useful block can reach. */
function requiredVersion(known: CompiledOperation, blockStartVersion: number): number {
  switch (known.kind) {
    case 'read':
      return known.observedVersion;
    case 'write':
      return known.observedVersion - 1;
    case 'cas':
      if (known.succeeded) return known.ifVersion;
      // A conflict needs the version to differ from ifVersion: one write is the most a block can contribute.
      return known.observedVersion >= 0 ? known.observedVersion : blockStartVersion + 1;
    case 'delete':
      // Success needs the key to exist (one write from absent at most); "not found" needs no writes.
      return known.succeeded ? blockStartVersion + 1 : 0;
  }
}
