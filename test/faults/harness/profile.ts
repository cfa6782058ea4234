/**
 * How hard the fault suite pushes. `full` (FAULTS_PROFILE=full) is the release check:
 * every scenario runs at least 2,000 checked operations. `ci` is the quick profile that
 * keeps the whole suite within a few minutes on a busy 2-core machine.
 */
export type ProfileName = 'ci' | 'full';

export interface FaultProfile {
  name: ProfileName;
  /** Register operations each scenario must record (checked by the linearizability checker). */
  operations: number;
  /** Concurrent register clients. */
  clients: number;
  /** How often a fault that repeats is repeated. */
  rounds: number;
  /** Budget of the linearizability check of one scenario. */
  checkTimeoutMs: number;
  /** Time limit of one scenario test. */
  testTimeoutMs: number;
}

const PROFILES: Record<ProfileName, FaultProfile> = {
  ci: { name: 'ci', operations: 300, clients: 4, rounds: 1, checkTimeoutMs: 20_000, testTimeoutMs: 120_000 },
  full: { name: 'full', operations: 2_000, clients: 6, rounds: 2, checkTimeoutMs: 120_000, testTimeoutMs: 600_000 },
};

export function faultProfile(env: Record<string, string | undefined> = process.env): FaultProfile {
  const name = env.FAULTS_PROFILE ?? 'ci';
  if (name !== 'ci' && name !== 'full') throw new Error(`FAULTS_PROFILE must be ci or full, not ${name}`);
  return PROFILES[name];
}
