import type { OpArgs, OpName, OpResult } from '../../shared/protocol/messages/index.js';
import type { BoardEvent, KeyRecord, SubscribeResult } from '../../shared/protocol/types.js';
import type { ConnectionState } from './connection.js';

/**
 * One request/reply call, checked against the protocol's `OpResult` map: the part of the
 * client that locks, pages and the MCP tools use.
 */
export interface Requester {
  request<Op extends OpName>(op: Op, args: OpArgs<Op>, onResult?: (result: OpResult<Op>) => void): Promise<OpResult<Op>>;
}

export type ClientEvent = 'open' | 'close' | 'state' | 'push';
export type Listener = (...args: unknown[]) => void;

export interface SubscriptionHandlers {
  events?(events: BoardEvent[]): void;
  progress?(rev: number): void;
  /**
   * The rest of a snapshot too large for the subscribe result (which then says `more: true`),
   * in parts, before any event; `more` is false on the last part.
   */
  snapshot?(items: KeyRecord[], more: boolean): void;
}

/** What watches and task workers need of the client: requests, subscriptions and its connection's events. */
export interface ClientCore extends Requester {
  readonly state: ConnectionState;
  connect(): Promise<void>;
  on(event: ClientEvent, listener: Listener): void;
  off(event: ClientEvent, listener: Listener): void;
  subscribe(args: OpArgs<'subscribe'>, handlers: SubscriptionHandlers): Promise<SubscribeResult>;
  unsubscribe(sub: string): Promise<void>;
}
