// Where an unknown-outcome write could have landed, judged from what known
// operations observed. Without this, the search keeps trying every pending
// unknown write at every step, and chains of them on wrong versions multiply
// until a timeout.
//
// Two facts pin unknown writes down:
// - A value written by only one operation that a read saw at version v can
//   only have been created as version v (holds with or without deletes).
// - Without deletes, versions only grow, so every version number is created
//   exactly once in any valid order. A version that a known write or
//   successful CAS reports creating is therefore taken, and a version a read
//   saw holding x must have been created by a writer of x. Deletes make
//   version numbers recur, so this second rule is skipped when any exist.

import type { CompiledOperation } from './register-model.js';

/** May an operation of unknown outcome create `version` holding value `valueId`? */
export type UnknownWriteGate = (version: number, valueId: number) => boolean;

const FREE = 0;
const TAKEN = -1;

export function unknownWriteGate(operations: readonly CompiledOperation[]): UnknownWriteGate {
  const pinnedVersionOf = versionsPinnedByValue(operations);
  const claims = operations.some((operation) => operation.kind === 'delete') ? [] : versionClaims(operations);
  return (version, valueId) => {
    const pinned = pinnedVersionOf.get(valueId);
    if (pinned !== undefined && pinned !== version) return false;
    const claim = claims[version] ?? FREE;
    return claim === FREE || claim === valueId;
  };
}

/** For values written by a single operation and seen by reads: the only version that operation can have created. */
function versionsPinnedByValue(operations: readonly CompiledOperation[]): Map<number, number> {
  const writers = new Map<number, number>();
  for (const operation of operations) {
    if (operation.kind !== 'write' && operation.kind !== 'cas') continue;
    writers.set(operation.valueId, (writers.get(operation.valueId) ?? 0) + 1);
  }
  const pinned = new Map<number, number>();
  for (const operation of operations) {
    if (operation.kind !== 'read' || !operation.known || writers.get(operation.valueId) !== 1) continue;
    const earlier = pinned.get(operation.valueId);
    // Seen at two versions: impossible for a single write, so allow no version at all.
    const consistent = earlier === undefined || earlier === operation.observedVersion;
    pinned.set(operation.valueId, consistent ? operation.observedVersion : TAKEN);
  }
  return pinned;
}

/** claims[v]: FREE, TAKEN by a known creator, or the (positive) value id a read saw at version v. */
function versionClaims(operations: readonly CompiledOperation[]): number[] {
  const claims: number[] = [];
  const claim = (version: number, claimant: number): void => {
    const existing = claims[version] ?? FREE;
    // Two different claims on one version mean the history is already not
    // linearizable; marking it TAKEN keeps the gate sound regardless.
    claims[version] = existing === FREE || existing === claimant ? claimant : TAKEN;
  };
  for (const operation of operations) {
    if (!operation.known || operation.observedVersion < 1) continue;
    const creates = operation.kind === 'write' || (operation.kind === 'cas' && operation.succeeded);
    if (creates) claim(operation.observedVersion, TAKEN);
    // Value id 0 is "absent", which no version >= 1 can hold; TAKEN is then right too.
    if (operation.kind === 'read') claim(operation.observedVersion, operation.valueId > 0 ? operation.valueId : TAKEN);
  }
  return claims;
}
