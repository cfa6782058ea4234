import { checkKeyedHistory, type LinearizabilityFailure, type RegisterOperation } from '../checker/linearizability.js';
import type { EpochMonitor } from './epochs.js';
import type { RecordedOperation } from './recorder.js';

export type Linearizable = 'yes' | 'no' | 'unproven';

export interface Verdict {
  linearizable: Linearizable;
  checkedOps: number;
  unknownOps: number;
  generations: number;
  checkMs: number;
  failure?: LinearizabilityFailure;
}

/**
 * Keeps the part of a generation's history that happened before `cut` (a fault that lost
 * Redis data, after which the server announced a new epoch): operations called later are
 * left out, and those still running at the cut become unknown (they may have taken
 * effect before it, or not). Operations after the cut belong to the next epoch, whose
 * state restarted from Postgres; they are checked in the next generation's keys.
 */
function before(ops: readonly RecordedOperation[], cut: number): RegisterOperation[] {
  const kept: RegisterOperation[] = [];
  for (const { generation: _generation, ...op } of ops) {
    if (op.call > cut) continue;
    if (op.ret !== undefined && op.ret > cut) {
      if (op.op === 'read') continue;
      const { ret: _ret, output: _output, ...pending } = op;
      kept.push({ ...pending, unknown: true } as RegisterOperation);
      continue;
    }
    kept.push(op as RegisterOperation);
  }
  return kept;
}

/**
 * Runs the linearizability checker on the whole history, one epoch generation at a time.
 * A check that runs out of time proves nothing: it is reported as `unproven`, never `yes`.
 */
export function checkRecorded(ops: readonly RecordedOperation[], epochs: EpochMonitor, timeoutMs: number): Verdict {
  const started = performance.now();
  const byGeneration = new Map<number, RecordedOperation[]>();
  for (const op of ops) {
    const bucket = byGeneration.get(op.generation);
    if (bucket) bucket.push(op);
    else byGeneration.set(op.generation, [op]);
  }
  let checkedOps = 0;
  let unknownOps = 0;
  let partial = false;
  const generations = [...byGeneration.keys()].sort((a, b) => a - b);
  for (const generation of generations) {
    const remaining = Math.max(1_000, timeoutMs - (performance.now() - started));
    const slice = before(byGeneration.get(generation) ?? [], epochs.cutOf(generation));
    const result = checkKeyedHistory(slice, { timeoutMs: remaining });
    checkedOps += result.checkedOps;
    unknownOps += result.unknownOps;
    partial ||= result.partial === true;
    if (!result.ok) {
      const verdict: Verdict = { linearizable: 'no', checkedOps, unknownOps, generations: generations.length, checkMs: 0 };
      if (result.failure) verdict.failure = result.failure;
      verdict.checkMs = Math.round(performance.now() - started);
      return verdict;
    }
  }
  return {
    linearizable: partial ? 'unproven' : 'yes',
    checkedOps,
    unknownOps,
    generations: generations.length,
    checkMs: Math.round(performance.now() - started),
  };
}
