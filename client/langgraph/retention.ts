import { BlackboardError, ErrorCode, type BlackboardClient } from '../sdk/index.js';
import type { SaverContext } from './context.js';
import type { ThreadKeys } from './keys.js';
import type { KeptCheckpoint } from './records.js';
import { collect } from './scan.js';
import type { ThreadView } from './thread-view.js';
import { batchOps, deleteOp, type SizedOp } from './txn-batches.js';
import { commitTxn } from './commit.js';

interface RetentionPlan {
  /** The checkpoints kept after this put, newest first. */
  kept: KeptCheckpoint[];
  /** Channel keys still stored: channel → version → `<digest>.<parts>` of a split value, or "". */
  blobs: Record<string, Record<string, string>>;
  /** Keys to delete with the put: dropped checkpoints (with their pending writes) and channel values no kept checkpoint uses. */
  deletes: SizedOp[];
}

/**
 * Retention of the last `keep` checkpoints of one (thread, namespace). The head lists the
 * kept checkpoints with their channel versions, and every channel key written while
 * retention is on; a put drops the checkpoints past `keep` (their keys and pending
 * writes) and the channel values none of the kept ones refers to. The latest checkpoint
 * is always kept, so the pending writes of an interrupted run stay.
 */
export async function retentionPlan(
  ctx: SaverContext,
  keys: ThreadKeys,
  view: ThreadView,
  current: KeptCheckpoint,
  written: ReadonlyArray<{ channel: string; version: string; parts: string }>,
  keep: number,
): Promise<RetentionPlan> {
  const all = [current, ...view.kept.filter((k) => k.id !== current.id)];
  const kept = all.slice(0, keep);
  const dropped = all.slice(keep);
  const blobs: Record<string, Record<string, string>> = {};
  for (const [channel, versions] of Object.entries(view.blobs)) blobs[channel] = { ...versions };
  for (const w of written) (blobs[w.channel] ??= {})[w.version] = w.parts;

  const needed = new Set(kept.flatMap((k) => Object.entries(k.versions).map(([channel, version]) => `${channel}\n${String(version)}`)));
  const deletes: string[] = [];
  for (const [channel, versions] of Object.entries(blobs)) {
    for (const [version, parts] of Object.entries(versions)) {
      if (needed.has(`${channel}\n${version}`)) continue;
      const key = keys.blob(channel, version);
      deletes.push(key);
      const [digest, count] = parts.split('.');
      for (let i = 0; i < Number(count ?? 0); i++) deletes.push(`${key}/${digest}.${i}`);
      delete versions[version];
    }
    if (Object.keys(versions).length === 0) delete blobs[channel];
  }
  // A dropped checkpoint's key and everything under it (its pending writes and their parts).
  const below = await Promise.all(dropped.map((d) => collect(ctx.client, ctx.board, keys.checkpoint(d.id))));
  for (const items of below) for (const item of items) deletes.push(item.key);
  return { kept, blobs, deletes: deletes.map(deleteOp) };
}

/** Deletes keys in bounded txns; a key already gone is skipped (a txn naming it is sent again without it). */
export async function deleteKeys(client: BlackboardClient, board: string, keys: readonly string[], durability: 'memory' | 'durable'): Promise<void> {
  for (const batch of batchOps(keys.map(deleteOp))) {
    let ops = batch.map((o) => o.op);
    while (ops.length > 0) {
      try {
        await commitTxn(client, board, { compare: [], ops, durability });
        break;
      } catch (err) {
        const missing = err instanceof BlackboardError && err.code === ErrorCode.NOT_FOUND ? err.details?.key : undefined;
        if (typeof missing !== 'string' || !ops.some((op) => op.key === missing)) throw err;
        ops = ops.filter((op) => op.key !== missing);
      }
    }
  }
}
