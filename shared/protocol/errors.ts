/** The closed set of error codes a reply can carry (PROTOCOL.md, "Requests and replies"). */
export const ErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  FENCED: 'FENCED',
  LOCKED: 'LOCKED',
  COMPACTED: 'COMPACTED',
  EPOCH_CHANGED: 'EPOCH_CHANGED',
  INVALID: 'INVALID',
  TOO_LARGE: 'TOO_LARGE',
  RATE_LIMITED: 'RATE_LIMITED',
  UNAVAILABLE: 'UNAVAILABLE',
  TIMEOUT: 'TIMEOUT',
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const errorCodes: readonly ErrorCode[] = Object.values(ErrorCode);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (errorCodes as readonly string[]).includes(value);
}

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** Always an object on the wire (`{}` when there is nothing to say). */
  details: Record<string, unknown>;
}

/**
 * An error that crosses the wire. Server code throws it to produce an error reply;
 * the SDK rejects with it when the server answers `ok: false`. Branch on `code`.
 */
export class BlackboardError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'BlackboardError';
    this.code = code;
    this.details = details;
  }

  /**
   * The same error without a stack trace: for refusals on hot paths (overload, rate
   * limits), where capturing a stack costs more than the rest of the refusal.
   */
  static refusal(code: ErrorCode, message: string, details?: Record<string, unknown>): BlackboardError {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return new BlackboardError(code, message, details);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message, details: this.details ?? {} };
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>) => new BlackboardError(ErrorCode.BAD_REQUEST, message, details);
