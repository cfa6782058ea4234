import { BlackboardError, ErrorCode } from '../../../shared/protocol/errors.js';
import { encodeSnapshotPush } from '../../../shared/protocol/envelope.js';
import type { RawJson } from '../../../shared/protocol/json.js';
import type { KeyRecord } from '../../../shared/protocol/types.js';
import type { HandlerTable, OpContext } from '../../extension.js';
import { Subscription } from '../subscription.js';
import { readSnapshot } from '../snapshot.js';
import { snapshotRanges } from '../snapshot-ranges.js';
import { revisionBytes } from '../revision.js';

/** Replays from `fromRev` until the subscription has caught up with the live feed, then hands over. */
async function replayThenLive(sub: Subscription, fromRev: number, ctx: OpContext): Promise<void> {
  const { replay, config } = ctx.services;
  // Hand over a slice at a time, waiting for the socket, so a replay never overfills it.
  const slice = config.MAX_OUTBOUND_BYTES / 4;
  let next = fromRev;
  while (!sub.closed) {
    next = await replay.replay(sub.board, Math.max(next, sub.nextRev), async (revisions) => {
      let queued = 0;
      for (const revision of revisions) {
        const size = revisionBytes(revision);
        if (queued > 0 && queued + size > slice) {
          await ctx.session.drain();
          queued = 0;
        }
        // A revision larger than a slice (up to MAX_REVISION_BYTES) goes once the socket has room for all of it.
        if (size > slice) await ctx.session.waitForRoom(size);
        sub.deliver(revision);
        queued += size;
      }
      await ctx.session.drain();
    });
    if (sub.goLive()) return;
  }
}

/** Hands the subscription to the live feed; if live revisions overflowed its buffer meanwhile, replays them first. */
async function startLive(sub: Subscription, ctx: OpContext): Promise<void> {
  if (sub.goLive()) return;
  await replayThenLive(sub, sub.nextRev, ctx);
}

/** Splits snapshot items into parts of about `maxBytes` each, at least one item per part. */
function snapshotParts(items: KeyRecord<RawJson>[], maxBytes: number): KeyRecord<RawJson>[][] {
  const parts: KeyRecord<RawJson>[][] = [[]];
  let bytes = 0;
  for (const item of items) {
    const size = item.key.length + item.value.text.length + 80;
    if (bytes > 0 && bytes + size > maxBytes) {
      parts.push([]);
      bytes = 0;
    }
    parts.at(-1)!.push(item);
    bytes += size;
  }
  return parts;
}

export const subscriptionHandlers: HandlerTable = {
  async subscribe(frame, ctx) {
    const { session, services } = ctx;
    if (session.subscriptions.size >= services.config.MAX_SUBSCRIPTIONS_PER_CONNECTION) {
      throw new BlackboardError(ErrorCode.RATE_LIMITED, 'too many subscriptions on this connection', {
        retryAfterMs: 1_000,
        limit: services.config.MAX_SUBSCRIPTIONS_PER_CONNECTION,
      });
    }
    const { board } = frame;
    let state = await services.store.boardState(board);
    // Subscribing creates nothing: a board never written is at revision 0 of the epoch its first write will have.
    if (!state && (await services.store.restore(board))) state = await services.store.boardState(board);
    state ??= { rev: 0, epoch: await services.store.genesisEpoch(board), epochRev: 0 };
    if (frame.epoch !== undefined && frame.epoch !== state.epoch) {
      throw new BlackboardError(ErrorCode.EPOCH_CHANGED, `board ${board} is at epoch ${state.epoch}`, {
        epoch: state.epoch,
      });
    }
    if (frame.fromRev !== undefined && state.epochRev > 0 && frame.fromRev <= state.epochRev) {
      throw new BlackboardError(ErrorCode.EPOCH_CHANGED, `revisions up to ${state.epochRev} belong to an earlier epoch`, {
        epoch: state.epoch,
        epochRev: state.epochRev,
      });
    }

    const access = ctx.readAccess(board);
    const sub = new Subscription(session.newSubscriptionId(), board, frame.patterns, frame.mode ?? 'value', session, access ?? undefined);
    // Attach before reading: every revision after the read reaches the subscription.
    await services.hub.attach(sub);
    try {
      let rev: number;
      let epoch: string;
      let parts: KeyRecord<RawJson>[][] | undefined;
      if (frame.snapshot === true) {
        // Only what the reader may read is read, a page at a time.
        const readable = access === null ? null : [...access.prefixes];
        const ranges = snapshotRanges(frame.patterns, readable);
        const snapshot = await readSnapshot(services.store, services.redis, board, ranges, sub.matcher, services.config.MAX_REPLY_BYTES);
        rev = snapshot.rev;
        epoch = snapshot.epoch || state.epoch;
        sub.holdVersions(snapshot.items);
        parts = snapshotParts(snapshot.items, services.config.MAX_REPLY_BYTES);
      } else {
        const now = await services.store.boardState(board);
        rev = now?.rev ?? state.rev;
        epoch = now?.epoch ?? state.epoch;
      }
      sub.nextRev = rev + 1;
      if (epoch !== state.epoch && frame.epoch !== undefined) {
        throw new BlackboardError(ErrorCode.EPOCH_CHANGED, `board ${board} is at epoch ${epoch}`, { epoch });
      }
      // `snapshot: true` takes precedence: events start after the snapshot, whatever fromRev says.
      const fromRev = frame.snapshot === true ? undefined : frame.fromRev;
      if (fromRev !== undefined) {
        await services.replay.ensureAvailable(board, Math.max(1, fromRev), rev);
        sub.nextRev = Math.max(1, fromRev);
      }
      session.subscriptions.set(sub.id, sub);
      const rest = parts?.slice(1) ?? [];
      ctx.afterReply(async () => {
        try {
          // The rest of the snapshot, each part once the socket has room for it, all before any event.
          for (const [i, part] of rest.entries()) {
            const more = i < rest.length - 1;
            const push = encodeSnapshotPush(sub.id, part, more);
            if (!(await session.sendWhenRoom(push)) || sub.closed) return;
            sub.lastSentAt = Date.now();
          }
          if (fromRev === undefined) await startLive(sub, ctx);
          else await replayThenLive(sub, sub.nextRev, ctx);
        } catch (err) {
          session.log.warn({ err, board }, 'replay failed; the subscriber must resume');
          session.dropSlow('replay failed');
        }
      });
      if (parts === undefined) return { sub: sub.id, rev, epoch };
      return rest.length > 0 ? { sub: sub.id, rev, epoch, snapshot: parts[0], more: true } : { sub: sub.id, rev, epoch, snapshot: parts[0] };
    } catch (err) {
      services.hub.detach(sub);
      throw err;
    }
  },

  async unsubscribe(frame, ctx) {
    const sub = ctx.session.subscriptions.get(frame.sub);
    if (!sub) throw new BlackboardError(ErrorCode.NOT_FOUND, `no subscription ${frame.sub}`, { sub: frame.sub });
    sub.closed = true;
    ctx.session.subscriptions.delete(sub.id);
    ctx.services.hub.detach(sub);
    return { ok: true };
  },
};
