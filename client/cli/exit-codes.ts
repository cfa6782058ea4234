import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';

/**
 * What the command line's exit status means: one table, used by every command and
 * documented in docs/cli.md. Scripts branch on these, so they never change meaning.
 */
export const ExitCode = {
  /** The command did what was asked. */
  OK: 0,
  /** The command line was wrong (unknown command or flag, bad argument, BAD_REQUEST). */
  USAGE: 1,
  /** The key, task or board does not exist (NOT_FOUND). */
  NOT_FOUND: 2,
  /** A compare failed (`--if-version`, CONFLICT). */
  CONFLICT: 3,
  /** A lock is held by another, or a fencing token is no longer valid (LOCKED, FENCED). */
  LOCKED: 4,
  /** The server could not be reached or answered too late (UNAVAILABLE, TIMEOUT, RATE_LIMITED). */
  UNAVAILABLE: 5,
  /** The credential was refused (UNAUTHORIZED, FORBIDDEN, HTTP 401/403 at connect). */
  FORBIDDEN: 6,
  /** Anything else (INVALID, TOO_LARGE, COMPACTED, EPOCH_CHANGED, INTERNAL, ...). */
  ERROR: 7,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const BY_ERROR_CODE: Partial<Record<ErrorCode, ExitCode>> = {
  [ErrorCode.BAD_REQUEST]: ExitCode.USAGE,
  [ErrorCode.NOT_FOUND]: ExitCode.NOT_FOUND,
  [ErrorCode.CONFLICT]: ExitCode.CONFLICT,
  [ErrorCode.LOCKED]: ExitCode.LOCKED,
  [ErrorCode.FENCED]: ExitCode.LOCKED,
  [ErrorCode.UNAVAILABLE]: ExitCode.UNAVAILABLE,
  [ErrorCode.TIMEOUT]: ExitCode.UNAVAILABLE,
  [ErrorCode.RATE_LIMITED]: ExitCode.UNAVAILABLE,
  [ErrorCode.UNAUTHORIZED]: ExitCode.FORBIDDEN,
  [ErrorCode.FORBIDDEN]: ExitCode.FORBIDDEN,
};

/** A mistake on the command line, reported with the command's usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof UsageError) return ExitCode.USAGE;
  if (err instanceof BlackboardError) return BY_ERROR_CODE[err.code] ?? ExitCode.ERROR;
  return ExitCode.ERROR;
}

/** What each status means, for `blackboard help` and docs/cli.md. */
export const EXIT_CODE_MEANINGS: Readonly<Record<ExitCode, string>> = {
  [ExitCode.OK]: 'done',
  [ExitCode.USAGE]: 'usage error: unknown command or flag, bad argument, or the server said BAD_REQUEST',
  [ExitCode.NOT_FOUND]: 'not found: no such key, task or board',
  [ExitCode.CONFLICT]: 'conflict: --if-version (or another compare) did not match',
  [ExitCode.LOCKED]: 'locked or fenced: the lock is held by another, or the fencing token is stale',
  [ExitCode.UNAVAILABLE]: 'unavailable: cannot connect, server unavailable, timed out or rate limited',
  [ExitCode.FORBIDDEN]: 'unauthorized or forbidden: the token was refused or lacks the scope',
  [ExitCode.ERROR]: 'any other error',
};
