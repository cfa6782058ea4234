import type { Extension } from '../extension.js';
import type { Route } from '../gateway/http.js';
import type { Services } from '../services.js';
import type { McpEndpoint } from './endpoint.js';

/**
 * MCP over Streamable HTTP at `/mcp` (MCP_ENABLED, on by default). The endpoint and the
 * MCP SDK are loaded at start-up only when it is on, so a node without MCP never loads them.
 */
export function mcpExtension(): Extension {
  let endpoint: McpEndpoint | null = null;
  const route: Route = async (req, res, url) => {
    if (url.pathname !== '/mcp' || !endpoint) return false;
    await endpoint.handle(req, res, url);
    return true;
  };
  return {
    name: 'mcp',
    routes: [route],
    async init(services: Services) {
      if (!services.authenticator) throw new Error("the MCP endpoint needs the node's authenticator");
      const { McpEndpoint } = await import('./endpoint.js');
      endpoint = new McpEndpoint(services, services.authenticator);
      await endpoint.start();
    },
    async stop() {
      await endpoint?.stop();
    },
  };
}
