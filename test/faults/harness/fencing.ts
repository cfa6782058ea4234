import type { BoardEvent } from '../../../client/sdk/index.js';

export interface FencingReport {
  /** Fenced writes found in the change log. */
  fencedWrites: number;
  /** Lock periods (`$locks/<name>` created) seen. */
  holders: number;
  /** Fenced writes that landed with a token that was not the current, unexpired holder's. */
  violations: string[];
}

interface LockRecord {
  token: number;
  expiresAt: number;
}

/**
 * Replays the change log in revision order, following `$locks/<lock>` (put on acquire
 * and extend, deleted on release or expiry), and checks each fenced write — a put of
 * `{token, …}` under one of `prefixes` — against it: the token must be the current
 * holder's and the write's commit time (Redis time, as the lock's) before its expiry.
 */
export function checkFencing(events: readonly BoardEvent[], lock: string, prefixes: readonly string[]): FencingReport {
  const lockKey = `$locks/${lock}`;
  let current: LockRecord | null = null;
  const report: FencingReport = { fencedWrites: 0, holders: 0, violations: [] };
  let lastToken = 0;
  for (const event of events) {
    if (event.key === lockKey) {
      if (event.type === 'delete') current = null;
      else {
        const value = event.value as { token?: unknown; expiresAt?: unknown };
        current = { token: Number(value.token), expiresAt: Number(value.expiresAt) };
        if (current.token !== lastToken) report.holders++;
        if (current.token < lastToken) report.violations.push(`rev ${event.rev}: lock token went back from ${lastToken} to ${current.token}`);
        lastToken = current.token;
      }
      continue;
    }
    if (event.type !== 'put' || !prefixes.some((p) => event.key.startsWith(p))) continue;
    report.fencedWrites++;
    const token = Number((event.value as { token?: unknown } | undefined)?.token);
    if (current === null) {
      report.violations.push(`rev ${event.rev}: ${event.key} written with token ${token} while nobody held the lock`);
    } else if (token !== current.token) {
      report.violations.push(`rev ${event.rev}: ${event.key} written with token ${token} while ${current.token} held the lock`);
    } else if (event.ts >= current.expiresAt) {
      report.violations.push(`rev ${event.rev}: ${event.key} written at ${event.ts}, after token ${token} expired at ${current.expiresAt}`);
    }
  }
  return report;
}
