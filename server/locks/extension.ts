import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { Extension } from '../extension.js';
import type { Caller } from '../extension.js';
import type { Services } from '../services.js';
import { PresenceRegistry } from '../presence/registry.js';
import { presenceHandlers } from '../presence/handlers.js';
import { DeadlineSweeper } from './expiry.js';
import { HeldLocks } from './held.js';
import { lockHandlers } from './locks.js';
import { LockManager } from './manager.js';
import { defineLockScripts } from './scripts.js';

export interface LocksExtensionOptions {
  /** How long a presence entry outlives its node's last refresh (default 3 × HEARTBEAT_MS). */
  presenceTtlMs?: number;
  /** How often each node looks for expired locks and presence (default 250 ms). */
  sweepIntervalMs?: number;
}

const DEFAULT_SWEEP_INTERVAL_MS = 250;
const CLEANUP_GRACE_MS = 5_000;

interface Parts {
  services: Services;
  manager: LockManager;
  held: HeldLocks;
  presence: PresenceRegistry;
  sweeper: DeadlineSweeper;
}

/** Locks with fencing tokens, presence, and their release when a connection goes. */
export function locksExtension(options: LocksExtensionOptions = {}): Extension {
  let parts: Parts | null = null;
  const cleanups = new Set<Promise<void>>();
  const ready = (): Parts => {
    if (!parts) throw new BlackboardError(ErrorCode.UNAVAILABLE, 'locks are not started');
    return parts;
  };

  async function releaseAll(session: Caller): Promise<void> {
    const { services, manager, held, presence } = ready();
    const results = await Promise.allSettled([
      ...held.takeAll(session).map((lock) => manager.release(lock, session.actorJson)),
      presence.sessionClosed(session),
    ]);
    for (const result of results) {
      if (result.status === 'fulfilled') continue;
      const err: unknown = result.reason;
      // A lock that lapsed before its connection closed has nothing left to release.
      if (err instanceof BlackboardError && err.code === ErrorCode.FENCED) continue;
      services.log.warn({ err, conn: session.id }, 'releasing a closed connection’s locks or presence failed');
    }
  }

  return {
    name: 'locks',
    handlers: {
      ...lockHandlers(ready),
      ...presenceHandlers(() => ready().presence),
    },

    init(services) {
      defineLockScripts(services.redis);
      const sweeper = new DeadlineSweeper(services, { intervalMs: options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS });
      const presence = new PresenceRegistry(services, sweeper, options.presenceTtlMs ?? 3 * services.config.HEARTBEAT_MS);
      parts = { services, manager: new LockManager(services, sweeper), held: new HeldLocks(() => services.config.MAX_LOCKS_PER_AGENT), presence, sweeper };
      sweeper.start();
      presence.start();
    },

    async sessionClosed(session) {
      if (!parts) return;
      const cleanup = releaseAll(session);
      cleanups.add(cleanup);
      try {
        await cleanup;
      } finally {
        cleanups.delete(cleanup);
      }
    },

    async stop() {
      if (!parts) return;
      await Promise.all([parts.sweeper.stop(), parts.presence.stop()]);
      // Connections closed by the shutdown are still releasing what they held.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...cleanups]), new Promise((r) => (timer = setTimeout(r, CLEANUP_GRACE_MS)))]);
      clearTimeout(timer);
    },
  };
}
