import type { RawJson } from '../shared/protocol/json.js';
import type { OpResult } from '../shared/protocol/messages/index.js';
import type { WireResult } from '../shared/protocol/envelope.js';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { BoardStore } from './board/store.js';
import type { SubscriptionHub } from './board/hub.js';
import type { RedisClient } from './board/scripts.js';
import type { Caller } from './extension.js';
import type { ReplayChain } from './board/replay.js';
import type { DurabilityHooks } from './board/durability.js';
import { Capability, type Capabilities } from './capabilities.js';
import type { StoredRecord } from './board/records.js';
import type { Authenticator } from './gateway/auth.js';

/** What op handlers can reach. One instance per server node; nothing in it is board state. */
export interface Services {
  config: Config;
  log: Logger;
  nodeId: string;
  redis: RedisClient;
  store: BoardStore;
  hub: SubscriptionHub;
  /** Past revisions for resuming subscriptions: the stream, then the sources extensions add. */
  replay: ReplayChain;
  /** Where `durable` writes wait: the sources extensions register (none: such writes are refused). */
  durability: DurabilityHooks;
  /** Services extensions provide one another (`HISTORY`, `SCHEMAS`), looked up by typed name. */
  capabilities: Capabilities;
  sessions: Set<Caller>;
  /** This node's event delivery: how far its fan-out is behind. */
  fanout: FanoutState;
  redisReady(): boolean;
  /** Whether an error means the connection to Redis failed under the command (by class, code and state). */
  redisConnectionFailed(err: unknown): boolean;
  /** How this node checks credentials (WebSocket upgrades, `/mcp` requests). */
  authenticator?: Authenticator;
}

export interface FanoutState {
  /** Milliseconds the oldest event queued for a subscriber has waited for its socket. */
  backlogMs(): number;
  /** What the sessions of this node delivered. */
  readonly stats: DeliveryStats;
}

/** What the sessions of one node delivered; plain integers, read by the metrics at scrape time. */
export interface DeliveryStats {
  eventFrames: number;
  /** String length of those frames: bytes for ASCII, as the outbound bound counts them. */
  eventBytes: number;
  slowConsumers: number;
}

/** A `get` result with the stored value spliced in as text. */
export type GetReply = Omit<OpResult<'get'>, 'value'> & { value: RawJson };

export interface SchemaService {
  /**
   * Validates a value about to be written to `key`: the schema version it conforms to
   * (undefined when no schema governs the key), or INVALID with `details.errors`.
   */
  check(board: string, key: string, valueText: string): Promise<number | undefined>;
  /** A `get` result for a typed key: its value in `schemaVersion` (default: the latest), migrated on the fly. */
  present(board: string, key: string, record: StoredRecord, result: GetReply, schemaVersion: number | undefined): Promise<GetReply>;
}

/** Typed boards (JSON Schemas per key pattern), when this node runs them. */
export const SCHEMAS = new Capability<SchemaService>('schemas');

/**
 * Past state and the change log from history kept outside Redis, when this node keeps it.
 * `durable` writes wait through `Services.durability`, where the same extension registers.
 */
export interface HistoryService {
  getAt(board: string, key: string, atRev: number): Promise<WireResult<'get'>>;
  listAt(board: string, prefix: string, atRev: number, limit: number, after: string | undefined): Promise<WireResult<'list'>>;
  events(
    board: string,
    range: { key?: string | undefined; fromRev?: number | undefined; toRev?: number | undefined },
    limit: number,
  ): Promise<WireResult<'history'>>;
  /** Figures for metrics (persister lag, batch sizes, Postgres state), by name. */
  stats(): Record<string, number>;
}

export const HISTORY = new Capability<HistoryService>('history');
