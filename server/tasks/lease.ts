import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';

/** BullMQ's error codes for a token that no longer holds the job (lock missing or someone else's, job gone or moved). */
const LOST_HOLD_CODES: ReadonlySet<number> = new Set([-1, -2, -3, -6]);

export function lostHold(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' && LOST_HOLD_CODES.has(code);
}

export function fenced(taskId: string): BlackboardError {
  return new BlackboardError(ErrorCode.FENCED, `the token no longer holds task ${taskId}`, { taskId });
}

/** Runs a BullMQ call made with a delivery token; a token that lost the job is FENCED. */
export async function withToken<T>(taskId: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (lostHold(err)) throw fenced(taskId);
    throw err;
  }
}

/**
 * A lease timer fires this long before the lock would lapse, so the node still owns what it
 * releases: the check (GET, PTTL) and the release are two round trips, which on a busy
 * machine can take tens of milliseconds; a release that comes after the lock lapsed leaves
 * the task to the stalled check (seconds later).
 */
export const LEASE_MARGIN_MS = 100;
