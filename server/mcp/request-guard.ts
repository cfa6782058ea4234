import type { IncomingMessage } from 'node:http';
import { originAllowed, originPolicy, type OriginPolicy } from '../security/origin.js';

/**
 * DNS-rebinding protection for `/mcp`. A page on evil.example whose name resolves to
 * 127.0.0.1 reaches a local server as a same-origin request: its `Origin` and `Host` both
 * say evil.example, so an origin check alone lets it through. Hence the Host check: with
 * MCP_ALLOWED_HOSTS, Host must be one of them; without it, a server open to anyone
 * (AUTH_MODE=none) reached over loopback answers only requests that name a loopback host.
 * With tokens, a rebinding page has none to send, and Host is only checked when listed.
 *
 * `Origin`, sent by browsers, must pass ALLOWED_ORIGINS, or by default be the request's
 * own host, whatever AUTH_MODE says (the WebSocket lets any origin in when AUTH_MODE=none,
 * for dashboards on other local ports; MCP has no such client).
 */

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

export interface McpRequestGuard {
  /** null: allowed; otherwise why not (answered with 403). */
  refusal(req: IncomingMessage): string | null;
}

function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** The host name of a Host header, without its port, lower case; null if malformed. */
function hostName(host: string): string | null {
  try {
    return new URL(`http://${host}`).hostname.toLowerCase();
  } catch {
    return null;
  }
}

export function mcpRequestGuard(settings: { allowedHosts: string | undefined; allowedOrigins: string | undefined; authMode: 'none' | 'jwt' }): McpRequestGuard {
  const listed = (settings.allowedHosts ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  const hosts = new Set(listed);
  const origins: OriginPolicy = originPolicy(settings.allowedOrigins, 'jwt');
  return {
    refusal(req) {
      const host = req.headers.host;
      if (hosts.size > 0) {
        const name = host === undefined ? null : hostName(host);
        if (host === undefined || (!hosts.has(host.toLowerCase()) && (name === null || !hosts.has(name))))
          return `Host ${JSON.stringify(host ?? '')} is not in MCP_ALLOWED_HOSTS`;
      } else if (settings.authMode === 'none' && isLoopbackAddress(req.socket.localAddress)) {
        const name = host === undefined ? null : hostName(host);
        if (name === null || !LOOPBACK_NAMES.has(name))
          return `Host ${JSON.stringify(host ?? '')} is not a loopback name (set MCP_ALLOWED_HOSTS to serve other names)`;
      }
      const origin = req.headers.origin;
      if (origin !== undefined && !originAllowed(origins, origin, host)) return `Origin ${JSON.stringify(origin)} is not allowed`;
      return null;
    },
  };
}
