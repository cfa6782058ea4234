import type { Requester } from '../sdk/requester.js';

/**
 * What the MCP tools and resources need from a Blackboard connection: the SDK's
 * `BlackboardClient` satisfies it. Every tool call becomes one or more protocol ops on
 * it, so an MCP agent gets exactly the checks (scopes, rate limits, fencing) a WebSocket
 * client gets, and nothing reaches Redis any other way.
 */
export interface BoardApi extends Requester {
  on(event: 'open' | 'close' | 'push', listener: (...args: unknown[]) => void): void;
  off(event: 'open' | 'close' | 'push', listener: (...args: unknown[]) => void): void;
}

/** Hands out the session's connection, opening it on first use. */
export type ApiProvider = () => Promise<BoardApi>;
