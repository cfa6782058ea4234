import type { OpArgs } from '../../shared/protocol/messages/index.js';

type TxnOp = OpArgs<'txn'>['ops'][number];

/** An op with about how many bytes it takes in a frame (values are measured once, when encoded). */
export interface SizedOp {
  op: TxnOp;
  bytes: number;
}

/**
 * Bounds for one `txn`: the protocol allows 1,000 ops, and the server closes a socket
 * whose frame passes MAX_FRAME_BYTES (1 MiB by default); staying well under both leaves
 * room for the frame's own JSON around the values.
 */
export const TXN_MAX_OPS = 500;
export const TXN_MAX_BYTES = 768 * 1024;

export function deleteOp(key: string): SizedOp {
  return { op: { op: 'delete', key }, bytes: key.length + 32 };
}

export function putOp(key: string, value: unknown, valueBytes: number, ifVersion?: number): SizedOp {
  const op: TxnOp = ifVersion === undefined ? { op: 'put', key, value } : { op: 'put', key, value, ifVersion };
  return { op, bytes: key.length + 64 + valueBytes };
}

export function totalBytes(ops: readonly SizedOp[]): number {
  return ops.reduce((sum, o) => sum + o.bytes, 0);
}

/** Splits ops into batches within the txn bounds (a single op larger than the byte bound gets a batch alone). */
export function batchOps(ops: readonly SizedOp[], maxOps = TXN_MAX_OPS, maxBytes = TXN_MAX_BYTES): SizedOp[][] {
  const batches: SizedOp[][] = [];
  let current: SizedOp[] = [];
  let bytes = 0;
  for (const sized of ops) {
    if (current.length > 0 && (current.length + 1 > maxOps || bytes + sized.bytes > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(sized);
    bytes += sized.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
