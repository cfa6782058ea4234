import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProfileName } from './profile.js';
import type { Linearizable } from './verdict.js';

/** test-results/faults.jsonl at the root of the repository: one row per scenario run. */
export const RESULTS_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test-results/faults.jsonl');

export interface FaultResultRow {
  scenario: string;
  profile: ProfileName;
  /** ISO time the scenario finished. */
  at: string;
  /** Operations run: the checked register operations plus the scenario's own (fenced writes, task steps). */
  operations: number;
  registerOperations: number;
  /** Register operations whose outcome stayed unknown (timed out, connection lost). */
  unknownOperations: number;
  /** Error codes the register clients got, with counts (LOCAL: no reply at all). */
  errorCodes?: Record<string, number>;
  faultsInjected: number;
  /** What proves each fault fired: new process ids, Redis run ids, proxy counts, terminated backends. */
  faultEvidence: string[];
  acknowledgedWritesLost: number;
  /** `memory` writes missing after the server announced a new epoch (allowed, reported apart). */
  memoryWritesLostWithNewEpoch: number;
  epochsAnnounced: number;
  linearizable: Linearizable;
  /** The scenario's own invariants (fencing, exactly-once tasks, …), each true when it held. */
  checks: Record<string, boolean>;
  passed: boolean;
  /** False when the scenario stopped before its checks ran (lost writes and linearizability then unknown). */
  finished?: boolean;
  durationMs: number;
  checkMs: number;
  loadAverage: number[];
  failure?: string;
}

export function appendResult(row: FaultResultRow): void {
  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  appendFileSync(RESULTS_FILE, `${JSON.stringify(row)}\n`);
}
