import type { BlackboardClient } from '../../../client/sdk/index.js';
import { changeLog } from './change-log.js';
import type { EpochChange } from './epochs.js';
import type { AckedWrite } from './recorder.js';

export interface LostWrites {
  /** Acknowledged writes missing from the change log with no excuse: the number that must be 0. */
  lost: AckedWrite[];
  /** `memory` writes missing after a new epoch announced the loss (allowed by the protocol). */
  excused: AckedWrite[];
  /** Acknowledged writes found in the change log at another version than acknowledged. */
  misplaced: AckedWrite[];
}

/**
 * Compares every acknowledged write with the board's change log as the server serves it
 * after the faults. Writes carry unique values, so each one is found by its value. A
 * `durable` write must always be there; a `memory` write may be missing only if a new
 * epoch was announced after it was acknowledged.
 */
export async function findLostWrites(
  client: BlackboardClient,
  board: string,
  acked: readonly AckedWrite[],
  epochChanges: readonly EpochChange[],
): Promise<LostWrites> {
  const keys = [...new Set(acked.map((w) => w.key))];
  const versionsByValue = new Map<string, Map<string, number>>();
  for (const key of keys) {
    const found = new Map<string, number>();
    for (const event of await changeLog(client, board, key)) {
      if (event.type === 'put' && typeof event.value === 'string') found.set(event.value, event.version);
    }
    versionsByValue.set(key, found);
  }
  const result: LostWrites = { lost: [], excused: [], misplaced: [] };
  for (const write of acked) {
    const version = versionsByValue.get(write.key)?.get(write.value);
    if (version === undefined) {
      const announced = epochChanges.some((change) => change.detectedAt > write.ret);
      if (write.durability === 'memory' && announced) result.excused.push(write);
      else result.lost.push(write);
    } else if (version !== write.version) {
      result.misplaced.push(write);
    }
  }
  return result;
}
