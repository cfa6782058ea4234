import type { Services } from '../services.js';
import { metricsFor } from '../metrics/registry.js';

/** Tool calls take from a Redis round trip to a minute (a claim or lock waiting). */
const TOOL_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface McpMetrics {
  sessionOpened(how: 'new' | 'resumed'): void;
  toolCall(tool: string, result: string, seconds: number): void;
}

/** MCP sessions on this node and tool calls by tool and result, on the node's registry. */
export function mcpMetrics(services: Services, liveSessions: () => number): McpMetrics {
  const metrics = metricsFor(services);
  metrics.gauge('blackboard_mcp_sessions', 'MCP sessions (Streamable HTTP) served by this node.', liveSessions);
  const opened = metrics.counter('blackboard_mcp_sessions_opened_total', 'MCP sessions opened here: new ones, and ones resumed from another node.', ['how']);
  const calls = metrics.counter('blackboard_mcp_tool_calls_total', 'MCP tool calls, by tool and result (ok or the error code).', ['tool', 'result']);
  const duration = metrics.histogram('blackboard_mcp_tool_call_duration_seconds', 'Time an MCP tool call took on this node, by tool.', ['tool'], TOOL_BUCKETS);
  return {
    sessionOpened: (how) => opened.inc({ how }),
    toolCall(tool, result, seconds) {
      calls.inc({ tool, result });
      duration.observe({ tool }, seconds);
    },
  };
}
