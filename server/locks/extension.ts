import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { Extension } from '../extension.js';
import type { Caller } from '../extension.js';
import type { Services } from '../services.js';
import { PendingCleanups } from '../deadlines/cleanups.js';
import { joinSweeper, leaveSweeper } from '../deadlines/sweeper.js';
import { HeldLocks } from './held.js';
import { lockHandlers } from './locks.js';
import { LockManager } from './manager.js';
import { defineLockScripts } from './scripts.js';

interface LocksExtensionOptions {
  /** How often each node looks for expired locks and presence (default 250 ms; the first of locks and presence to start sets it). */
  sweepIntervalMs?: number;
}

interface Parts {
  services: Services;
  manager: LockManager;
  held: HeldLocks;
}

/** Locks with fencing tokens, and their release when a connection goes. */
export function locksExtension(options: LocksExtensionOptions = {}): Extension {
  let parts: Parts | null = null;
  const cleanups = new PendingCleanups();
  const ready = (): Parts => {
    if (!parts) throw new BlackboardError(ErrorCode.UNAVAILABLE, 'locks are not started');
    return parts;
  };

  async function releaseAll(session: Caller): Promise<void> {
    const { services, manager, held } = ready();
    const results = await Promise.allSettled(held.takeAll(session).map((lock) => manager.release(lock, session.actorJson)));
    for (const result of results) {
      if (result.status === 'fulfilled') continue;
      const err: unknown = result.reason;
      // A lock that lapsed before its connection closed has nothing left to release.
      if (err instanceof BlackboardError && err.code === ErrorCode.FENCED) continue;
      services.log.warn({ err, conn: session.id }, 'releasing a closed connection’s locks failed');
    }
  }

  return {
    name: 'locks',
    handlers: lockHandlers(ready),

    init(services) {
      defineLockScripts(services.redis);
      const sweeper = joinSweeper(services, options.sweepIntervalMs);
      parts = { services, manager: new LockManager(services, sweeper), held: new HeldLocks(() => services.config.MAX_LOCKS_PER_AGENT) };
    },

    async sessionClosed(session) {
      if (!parts) return;
      const cleanup = releaseAll(session);
      await cleanups.run(cleanup);
    },

    async stop() {
      if (!parts) return;
      await leaveSweeper(parts.services);
      // Connections closed by the shutdown are still releasing what they held.
      await cleanups.drain();
    },
  };
}
