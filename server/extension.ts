import type { Logger } from 'pino';
import type { WireResult } from '../shared/protocol/envelope.js';
import type { OpName, RequestFrame } from '../shared/protocol/messages/index.js';
import type { EventSink, KeyFilter, Subscription } from './board/subscription.js';
import type { Route } from './gateway/http.js';
import type { Services } from './services.js';

/**
 * The plug-in contract. Every capability, the core key-value store included, is an
 * Extension: op handlers, HTTP routes, dispatch hooks, start-up and shutdown. Handlers
 * see the connection as a `Caller`, never the gateway's session class, so that the
 * floors below the gateway (extensions, then board) never import it.
 */

/** The connection a request came on, as op handlers and hooks see it. */
export interface Caller extends EventSink {
  readonly id: string;
  readonly agentId: string;
  /** The agent id as JSON text, for events written by this connection. */
  readonly actorJson: string;
  readonly log: Logger;
  /** Scopes and expiry from authentication (scopes null: unrestricted). */
  readonly auth: { scopes: readonly string[] | null; expiresAt: number | null };
  readonly subscriptions: Map<string, Subscription>;
  /** Resources tied to this connection (locks, presence, workers), released on close. */
  readonly onClose: Array<() => Promise<void> | void>;
  readonly closed: boolean;
  /** Requests of this connection in progress. */
  readonly inflight: number;
  newSubscriptionId(): string;
  send(frame: string | Buffer): boolean;
  /** Sends a push in the same write to the socket as the other frames of this turn of the event loop. */
  push(frame: string): boolean;
  sendProgress(sub: Subscription, rev: number): void;
  sendWhenRoom(frame: string): Promise<boolean>;
  waitForRoom(bytes: number): Promise<boolean>;
  drain(): Promise<void>;
  chargeCost(bytes: number): void;
  closeWith(code: number, reason: string): void;
}

/**
 * What a caller may read of a board: null when everything; else the key prefixes it may
 * read (none: nothing) and a filter over keys with a stable identity.
 */
export type ReadAccess = (KeyFilter & { prefixes: readonly string[] }) | null;

export interface OpContext {
  session: Caller;
  services: Services;
  /** The frame held numbers past 2^53; values must be written with stringifyJson(v, true). */
  lossless: boolean;
  /** Runs after the reply is sent (a subscription's first events must follow its result). */
  afterReply(fn: () => void | Promise<void>): void;
  /** What the caller may read of `board`, as the extensions' `readAccess` hooks say (null: all). */
  readAccess(board: string): ReadAccess;
}

export type Handler<Op extends OpName> = (frame: RequestFrame<Op>, ctx: OpContext) => Promise<WireResult<Op>>;
export type HandlerTable = { [Op in OpName]?: Handler<Op> };

/** Called around every request, for metrics and authorization; each may throw a BlackboardError. */
export interface DispatchHooks {
  /** Runs as soon as the op is known, before the frame is validated: cheap refusals under load. */
  admit?(op: OpName, session: Caller): void;
  before?(op: OpName, frame: Record<string, unknown>, session: Caller): void;
  after?(op: OpName, outcome: 'ok' | string, seconds: number): void;
  /**
   * Narrows what a caller may read of a board (subscriptions, `boards`): the access every
   * hook grants, intersected. Without such a hook a caller reads everything.
   */
  readAccess?(session: Caller, board: string): ReadAccess;
}

/**
 * A capability plugged into the server (history, locks, tasks, metrics...): its op
 * handlers, HTTP routes and dispatch hooks, and its part of start-up and shutdown.
 */
export interface Extension {
  name: string;
  handlers?: HandlerTable;
  routes?: Route[];
  hooks?: DispatchHooks;
  /**
   * Runs before the server listens; registers with the hook lists of the floor below
   * (`store.onCommitted`, `store.addMaterializer`, `replay.addSource`, `durability.register`)
   * and provides its services to the others (`capabilities.provide`). It never assigns a
   * field of `services`.
   */
  init?(services: Services): Promise<void> | void;
  /** Dependency states for /readyz, by name. */
  readiness?(): Promise<Record<string, 'up' | 'down' | 'disabled'>>;
  /** Releases what a closed connection held; every extension's runs at once, beside the others'. */
  sessionClosed?(session: Caller): Promise<void> | void;
  stop?(): Promise<void> | void;
}
