import type { DispatchHooks, HandlerTable } from './gateway/dispatch.js';
import type { Route } from './gateway/http.js';
import type { Session } from './gateway/session.js';
import type { Services } from './services.js';

/**
 * A capability plugged into the server (history, locks, tasks, metrics...): its op
 * handlers, HTTP routes and dispatch hooks, and its part of start-up and shutdown.
 */
export interface Extension {
  name: string;
  handlers?: HandlerTable;
  routes?: Route[];
  hooks?: DispatchHooks;
  /** Runs before the server listens; may replace services (replayer, materializer, history). */
  init?(services: Services): Promise<void> | void;
  /** Dependency states for /readyz, by name. */
  readiness?(): Promise<Record<string, 'up' | 'down' | 'disabled'>>;
  /** Releases what a closed connection held. */
  sessionClosed?(session: Session): Promise<void> | void;
  stop?(): Promise<void> | void;
}
