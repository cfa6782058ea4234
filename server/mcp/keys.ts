import { KEY_ROOT } from '../board/keys.js';

/**
 * Redis keys of MCP sessions. A session's keys share the hash tag `{mcp:<session>}`, so
 * they live in one Redis Cluster slot and one script can touch them together.
 */
interface McpSessionKeys {
  /** hash: agent, owner (the node serving the session), init, board, feed, and `c:<board>` cursors. */
  session: string;
  /** stream: the events of one SSE stream of the session, kept for `Last-Event-ID` resumption. */
  events(streamId: string): string;
}

export function mcpSessionKeys(sessionId: string): McpSessionKeys {
  const prefix = `${KEY_ROOT}:{mcp:${sessionId}}:`;
  return { session: `${prefix}session`, events: (streamId) => `${prefix}events:${streamId}` };
}
