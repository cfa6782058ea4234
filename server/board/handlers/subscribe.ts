import { BlackboardError, ErrorCode } from '../../../shared/protocol/errors.js';
import { literalPrefix } from '../../../shared/protocol/globs.js';
import type { HandlerTable, OpContext } from '../../gateway/dispatch.js';
import { Subscription } from '../subscription.js';
import { readableKeys } from '../../security/authorize.js';
import type { KeyRecord } from '../../../shared/protocol/types.js';
import type { RawJson } from '../../../shared/protocol/json.js';

/** Replays from `fromRev` until the subscription has caught up with the live feed, then hands over. */
async function replayThenLive(sub: Subscription, fromRev: number, ctx: OpContext): Promise<void> {
  const { replayer } = ctx.services;
  let next = fromRev;
  for (let round = 0; !sub.closed; round++) {
    next = await replayer.replay(sub.board, Math.max(next, sub.nextRev), async (revisions) => {
      // Hand over a slice at a time, waiting for the socket, so a replay never overfills it.
      const slice = ctx.services.config.MAX_OUTBOUND_BYTES / 4;
      let queued = 0;
      for (const revision of revisions) {
        sub.deliver(revision);
        for (const entry of revision.entries) queued += entry.eventJson.length;
        if (queued >= slice) {
          await ctx.session.drain();
          queued = 0;
        }
      }
      await ctx.session.drain();
    });
    if (sub.goLive()) return;
  }
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
    if (!state) {
      await services.store.materializer.materialize(board);
      state = await services.store.boardState(board);
      if (!state) throw new BlackboardError(ErrorCode.UNAVAILABLE, `board ${board} could not be opened; retry`);
    }
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

    const sub = new Subscription(
      session.newSubscriptionId(),
      board,
      frame.patterns,
      frame.mode ?? 'value',
      session,
      readableKeys(session.auth.scopes, board) ?? undefined,
    );
    // Attach before reading: every revision after the read reaches the subscription.
    await services.hub.attach(sub);
    try {
      let rev: number;
      let epoch: string;
      let snapshot: KeyRecord<RawJson>[] | undefined;
      if (frame.snapshot === true) {
        const listed = await services.store.list(board, literalPrefix(frame.patterns), undefined, 0);
        rev = listed.rev;
        epoch = listed.epoch;
        snapshot = listed.items.filter((item) => sub.matcher(item.key));
        sub.nextRev = rev + 1;
      } else {
        const now = await services.store.boardState(board);
        rev = now?.rev ?? state.rev;
        epoch = now?.epoch ?? state.epoch;
        sub.nextRev = rev + 1;
      }
      if (epoch !== state.epoch && frame.epoch !== undefined) {
        throw new BlackboardError(ErrorCode.EPOCH_CHANGED, `board ${board} is at epoch ${epoch}`, { epoch });
      }
      const fromRev = frame.snapshot === true ? undefined : frame.fromRev;
      if (fromRev !== undefined) {
        await services.replayer.ensureAvailable(board, Math.max(1, fromRev), rev);
        sub.nextRev = Math.max(1, fromRev);
      }
      session.subscriptions.set(sub.id, sub);
      ctx.afterReply(async () => {
        if (fromRev === undefined) {
          sub.goLive();
          return;
        }
        try {
          await replayThenLive(sub, sub.nextRev, ctx);
        } catch (err) {
          session.log.warn({ err, board }, 'replay failed; the subscriber must resume');
          session.dropSlow('replay failed');
        }
      });
      return snapshot === undefined ? { sub: sub.id, rev, epoch } : { sub: sub.id, rev, epoch, snapshot };
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
