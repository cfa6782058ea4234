import { randomUUID } from 'node:crypto';
import { BlackboardError, ErrorCode, type BlackboardClient, type TxnResult } from '../sdk/index.js';
import type { OpArgs } from '../../shared/protocol/messages/index.js';

/** How many times a txn whose outcome is not known yet is sent again (with its reqId, so it applies once). */
const MAX_RESENDS = 12;

/**
 * A `txn` that survives a slow Postgres: a `durable` write that is committed in Redis but
 * not yet acknowledged by Postgres in DURABLE_TIMEOUT_MS answers TIMEOUT; sending it again
 * with the same reqId returns the first result once Postgres has it, and never applies it
 * twice. The same holds when the reply itself was lost.
 */
export async function commitTxn(client: BlackboardClient, board: string, args: Omit<OpArgs<'txn'>, 'board' | 'reqId'>): Promise<TxnResult> {
  const reqId = randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.txn(board, { ...args, reqId });
    } catch (err) {
      if (!(err instanceof BlackboardError && err.code === ErrorCode.TIMEOUT) || attempt >= MAX_RESENDS) throw err;
    }
  }
}
