import type { Config } from '../config.js';
import { TokenBucket } from './rate-limit.js';
import type { ShareReason } from '../board/agent-shares.js';

/** A frame with long digit runs is parsed digit-exact, about this many times slower than JSON.parse. */
export const LOSSLESS_PARSE_FACTOR = 8;
/** An agent's buckets outlive its last connection this long, so reconnecting does not refill them. */
const LINGER_MS = 10_000;
/** How long an agent whose connection was closed with 4029 cannot open a new one on this node. */
export const RECONNECT_BAR_MS = 5_000;

type AgentRateConfig = Pick<
  Config,
  'RATE_LIMIT_AGENT_RPS' | 'RATE_LIMIT_AGENT_BURST' | 'RATE_LIMIT_AGENT_BYTES' | 'RATE_LIMIT_AGENT_BYTES_BURST' | 'MAX_FRAME_BYTES'
>;

interface AgentBuckets {
  requests: TokenBucket | null;
  bytes: TokenBucket | null;
  connections: number;
  forget: NodeJS.Timeout | null;
  /** Until when (epoch ms) new connections of this agent are refused: one was just closed for its rate. */
  barredUntil: number;
}

interface Shortfall {
  waitMs: number;
  reason: ShareReason;
}

/**
 * What each agent may send to this node per second, across all its connections: requests,
 * and bytes (counted from a frame's length before it is decoded or parsed).
 */
export class AgentRates {
  private readonly agents = new Map<string, AgentBuckets>();

  constructor(private readonly config: AgentRateConfig) {}

  connected(agent: string, now: number): void {
    let entry = this.agents.get(agent);
    if (!entry) {
      const { RATE_LIMIT_AGENT_RPS, RATE_LIMIT_AGENT_BURST, RATE_LIMIT_AGENT_BYTES, RATE_LIMIT_AGENT_BYTES_BURST, MAX_FRAME_BYTES } = this.config;
      entry = {
        requests: RATE_LIMIT_AGENT_RPS > 0 ? new TokenBucket(RATE_LIMIT_AGENT_RPS, RATE_LIMIT_AGENT_BURST, now) : null,
        // Never smaller than the largest frame, which would otherwise never pass.
        bytes: RATE_LIMIT_AGENT_BYTES > 0 ? new TokenBucket(RATE_LIMIT_AGENT_BYTES, Math.max(RATE_LIMIT_AGENT_BYTES_BURST, MAX_FRAME_BYTES), now) : null,
        connections: 0,
        forget: null,
        barredUntil: 0,
      };
      this.agents.set(agent, entry);
    }
    if (entry.forget) clearTimeout(entry.forget);
    entry.forget = null;
    entry.connections++;
  }

  disconnected(agent: string): void {
    const entry = this.agents.get(agent);
    if (!entry || --entry.connections > 0) return;
    entry.forget = setTimeout(() => {
      if (entry.connections === 0 && this.agents.get(agent) === entry) this.agents.delete(agent);
    }, LINGER_MS);
    entry.forget.unref();
  }

  /** One of the agent's connections was closed for its rate: refuse its new ones for a while (they would be refused anyway, after costing a read of their frames). */
  bar(agent: string, untilMs: number): void {
    const entry = this.agents.get(agent);
    if (entry) entry.barredUntil = Math.max(entry.barredUntil, untilMs);
  }

  /** Milliseconds until the agent may connect again (0: now). */
  barredFor(agent: string, now: number): number {
    return Math.max(0, (this.agents.get(agent)?.barredUntil ?? 0) - now);
  }

  /** The longest wait among the agent's buckets for one request of `bytes`, and which bucket it is; waitMs 0: none. */
  shortfall(agent: string, bytes: number, now: number): Shortfall {
    const entry = this.agents.get(agent);
    const requests = entry?.requests?.shortfall(now, 1) ?? 0;
    const inbound = entry?.bytes?.shortfall(now, bytes) ?? 0;
    return inbound > requests ? { waitMs: inbound, reason: 'agentBytes' } : { waitMs: requests, reason: 'agentRate' };
  }

  /** Takes one request of `bytes` (after shortfall said 0). */
  take(agent: string, bytes: number, now: number): void {
    const entry = this.agents.get(agent);
    entry?.requests?.charge(now, 1);
    entry?.bytes?.charge(now, bytes);
  }

  /** Charges work found after admission (a slow parse): the agent's later frames wait it out. */
  charge(agent: string, bytes: number, now: number): void {
    this.agents.get(agent)?.bytes?.charge(now, bytes);
  }
}
