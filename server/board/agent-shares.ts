import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';

/**
 * Fair shares: what one agent may hold or send on a node, across all its connections, so
 * that one agent cannot starve the others. Every refusal is RATE_LIMITED with
 * `details.retryAfterMs` and `details.reason` naming the share that ran out.
 */
export type ShareReason =
  /** The connection's request rate (RATE_LIMIT_RPS). */
  | 'rate'
  /** The agent's request rate across its connections (RATE_LIMIT_AGENT_RPS). */
  | 'agentRate'
  /** The agent's inbound bytes across its connections (RATE_LIMIT_AGENT_BYTES). */
  | 'agentBytes'
  /** Requests in progress on the connection (MAX_INFLIGHT_PER_CONNECTION). */
  | 'inflight'
  | 'subscriptions'
  /** Glob patterns of the agent's subscriptions (each is matched against every readable key written). */
  | 'patterns'
  | 'locks'
  | 'presence'
  | 'workers'
  /** Searches in progress (half of SEARCH_POOL_MAX): one agent cannot hold every search connection. */
  | 'searches';

/** How long a client refused for a held resource should wait before asking again. */
export const HELD_RETRY_MS = 1_000;

export function rateLimited(message: string, reason: ShareReason, retryAfterMs: number, extra: Record<string, unknown> = {}): BlackboardError {
  return BlackboardError.refusal(ErrorCode.RATE_LIMITED, message, { retryAfterMs, reason, ...extra });
}

/**
 * How many of one kind of resource each agent holds on this node. `take` refuses past the
 * limit; `give` returns one. Agents holding nothing are forgotten, so the map is as large
 * as the number of agents holding something.
 */
export class AgentShares {
  private readonly held = new Map<string, number>();

  constructor(
    private readonly reason: ShareReason,
    private readonly what: string,
    private readonly limit: () => number,
  ) {}

  count(agent: string): number {
    return this.held.get(agent) ?? 0;
  }

  /** Takes `weight` more (refused if the agent would then hold more than the limit). */
  take(agent: string, weight = 1): void {
    const held = this.count(agent);
    const limit = this.limit();
    if (held + weight > limit) {
      throw rateLimited(`agent ${agent} would hold more than ${limit} ${this.what} on this node`, this.reason, HELD_RETRY_MS, {
        limit,
        held,
      });
    }
    this.held.set(agent, held + weight);
  }

  /** Counts one more without checking: for a resource that came into being anyway. */
  add(agent: string): void {
    this.held.set(agent, this.count(agent) + 1);
  }

  give(agent: string, weight = 1): void {
    const left = this.count(agent) - weight;
    if (left > 0) this.held.set(agent, left);
    else this.held.delete(agent);
  }
}
