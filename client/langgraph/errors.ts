/**
 * Errors of the LangGraph adapter. Branch on `code`, never on the message. Errors the
 * server sent come through as the SDK's `BlackboardError` (the `cause` when wrapped here).
 */
export const LangGraphErrorCode = {
  /** Another writer advanced the thread since this saver last read it: the put was refused. */
  THREAD_ADVANCED: 'THREAD_ADVANCED',
  /** The config lacks what the call needs (thread_id, checkpoint_id). */
  INVALID_CONFIG: 'INVALID_CONFIG',
  /** A thread id, namespace, channel, task id or store key cannot become a board key. */
  INVALID_KEY: 'INVALID_KEY',
  /** A checkpoint id that is not a UUID as LangGraph makes them. */
  INVALID_CHECKPOINT_ID: 'INVALID_CHECKPOINT_ID',
  /** A value too large to store, even split into parts. */
  VALUE_TOO_LARGE: 'VALUE_TOO_LARGE',
  /** Stored data that is not in the layout this adapter writes. */
  CORRUPT: 'CORRUPT',
} as const;
export type LangGraphErrorCode = (typeof LangGraphErrorCode)[keyof typeof LangGraphErrorCode];

export class LangGraphBoardError extends Error {
  readonly code: LangGraphErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: LangGraphErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LangGraphBoardError';
    this.code = code;
    this.details = details;
  }
}

/**
 * The documented refusal of a concurrent writer: the thread's head moved (another process
 * resumed the same thread and advanced it first). Nothing of the refused put was applied.
 */
export class ThreadAdvancedError extends LangGraphBoardError {
  constructor(details: { threadId: string; checkpointNs: string; expectedVersion: number; currentVersion: number; currentCheckpointId?: string }) {
    super(
      LangGraphErrorCode.THREAD_ADVANCED,
      `thread ${JSON.stringify(details.threadId)} (namespace ${JSON.stringify(details.checkpointNs)}) was advanced by another writer` +
        (details.currentCheckpointId ? ` to checkpoint ${details.currentCheckpointId}` : '') +
        '; read it again before writing',
      details,
    );
    this.name = 'ThreadAdvancedError';
  }
}
