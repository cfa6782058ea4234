import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Services } from '../services.js';
import { readRequestTarget } from './request-target.js';

/** Extra HTTP routes (metrics, the dashboard), added by the modules that own them. */
export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

interface Readiness {
  /** Name → state of each dependency; Redis decides readiness, the others inform. */
  check(): Promise<Record<string, 'up' | 'down' | 'disabled'>>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function createHttpServer(services: Services, readiness: Readiness, routes: Route[]): Server {
  return createServer((req, res) => {
    void (async () => {
      const target = readRequestTarget(req.url);
      if (!target.ok) return json(res, target.status, { error: target.message });
      const url = target.url;
      if (req.method === 'GET' && url.pathname === '/healthz') return json(res, 200, { status: 'ok', node: services.nodeId });
      if (req.method === 'GET' && url.pathname === '/readyz') {
        const dependencies = await readiness.check();
        const ready = dependencies.redis === 'up';
        return json(res, ready ? 200 : 503, { ready, node: services.nodeId, dependencies });
      }
      for (const route of routes) if (await route(req, res, url)) return;
      json(res, 404, { error: 'not found' });
    })().catch((err: unknown) => {
      services.log.error({ err }, 'http request failed');
      try {
        if (!res.headersSent) json(res, 500, { error: 'internal error' });
        else res.destroy();
      } catch {
        res.destroy();
      }
    });
  });
}
