import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { Extension } from '../extension.js';
import { PendingCleanups } from '../deadlines/cleanups.js';
import { joinSweeper, leaveSweeper } from '../deadlines/sweeper.js';
import type { Services } from '../services.js';
import { presenceHandlers } from './handlers.js';
import { PresenceRegistry } from './registry.js';
import { definePresenceScripts } from './scripts.js';

interface PresenceExtensionOptions {
  /** How long a presence entry outlives its node's last refresh (default 3 × HEARTBEAT_MS). */
  ttlMs?: number;
  /** How often each node looks for expired locks and presence (default 250 ms; the first of locks and presence to start sets it). */
  sweepIntervalMs?: number;
}

/** Presence (`$presence/<agent>`): `presence.set`/`presence.clear`, kept alive by its node, gone with its connection. */
export function presenceExtension(options: PresenceExtensionOptions = {}): Extension {
  let parts: { services: Services; registry: PresenceRegistry } | null = null;
  const cleanups = new PendingCleanups();
  const ready = (): PresenceRegistry => {
    if (!parts) throw new BlackboardError(ErrorCode.UNAVAILABLE, 'presence is not started');
    return parts.registry;
  };

  return {
    name: 'presence',
    handlers: presenceHandlers(ready),

    init(services) {
      definePresenceScripts(services.redis);
      const sweeper = joinSweeper(services, options.sweepIntervalMs);
      const registry = new PresenceRegistry(services, sweeper, options.ttlMs ?? 3 * services.config.HEARTBEAT_MS);
      parts = { services, registry };
      registry.start();
    },

    async sessionClosed(session) {
      if (!parts) return;
      const { services, registry } = parts;
      const cleanup = registry.sessionClosed(session).catch((err: unknown) => {
        services.log.warn({ err, conn: session.id }, 'releasing a closed connection’s presence failed');
      });
      await cleanups.run(cleanup);
    },

    async stop() {
      if (!parts) return;
      await Promise.all([parts.registry.stop(), leaveSweeper(parts.services)]);
      // Connections closed by the shutdown are still clearing their presence.
      await cleanups.drain();
    },
  };
}
