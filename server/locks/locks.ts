import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { HandlerTable } from '../extension.js';
import type { Caller } from '../extension.js';
import type { HeldLocks } from './held.js';
import type { Holder, LockManager } from './manager.js';

interface LockParts {
  manager: LockManager;
  held: HeldLocks;
}

const holderOf = (session: Caller): Holder => ({ agentId: session.agentId, actorJson: session.actorJson });

const notHeld = (name: string, token: number) => new BlackboardError(ErrorCode.FENCED, `this connection does not hold lock ${name} with token ${token}`);

/** `lock.acquire`, `lock.extend`, `lock.release`. */
export function lockHandlers(parts: () => LockParts): HandlerTable {
  return {
    async 'lock.acquire'(frame, ctx) {
      const { manager, held } = parts();
      const { session } = ctx;
      held.reserve(session);
      let lock;
      try {
        lock = await manager.acquire(frame.board, frame.name, holderOf(session), frame.ttlMs, frame.waitMs ?? 0, () => session.closed);
      } catch (err) {
        held.unreserve(session);
        throw err;
      }
      if (session.closed) {
        held.unreserve(session);
        // The connection went while we waited: its locks die with it, this one included.
        await manager.release(lock, session.actorJson).catch(() => undefined);
        throw new BlackboardError(ErrorCode.UNAVAILABLE, 'connection closed');
      }
      held.add(session, lock);
      return { token: lock.token, expiresAt: lock.expiresAt };
    },

    async 'lock.extend'(frame, ctx) {
      const { manager, held } = parts();
      const lock = held.find(ctx.session, frame.board, frame.name, frame.token);
      if (!lock) throw notHeld(frame.name, frame.token);
      try {
        return { expiresAt: await manager.extend(lock, holderOf(ctx.session), frame.ttlMs) };
      } catch (err) {
        if (err instanceof BlackboardError && err.code === ErrorCode.FENCED) held.remove(ctx.session, lock);
        throw err;
      }
    },

    async 'lock.release'(frame, ctx) {
      const { manager, held } = parts();
      const lock = held.find(ctx.session, frame.board, frame.name, frame.token);
      if (!lock) throw notHeld(frame.name, frame.token);
      held.remove(ctx.session, lock);
      await manager.release(lock, ctx.session.actorJson);
      return { released: true };
    },
  };
}
