import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { collectDefaultMetrics } from 'prom-client';
import type { Extension } from '../extension.js';
import type { DispatchHooks } from '../extension.js';
import type { Route } from '../gateway/http.js';
import type { Services } from '../services.js';
import { gatewayMetrics, type GatewayMetrics } from './gateway-metrics.js';
import { metricsFor, type NodeMetrics } from './registry.js';
import { stateMetrics } from './state-metrics.js';
import { BoardFigures } from './board-figures.js';

/** Whether the request carries `Authorization: Bearer <token>` (compared in constant time). */
function bearerMatches(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * `GET /metrics` in the Prometheus text format, from this node's own registry. A scrape
 * reads only what the node holds in memory; with METRICS_TOKEN set it needs that bearer token.
 */
export function metricsExtension(): Extension {
  let metrics: NodeMetrics | null = null;
  let gateway: GatewayMetrics | null = null;
  let detach: (() => void) | null = null;
  let figures: BoardFigures | null = null;
  let token: string | undefined;
  // Scrapes within METRICS_CACHE_MS of a rendering get that rendering: however many scrapers
  // ask, the node renders its registry at most once per that interval.
  let reuseMs = 0;
  let last: { text: string; at: number } | null = null;
  let rendering: Promise<string> | null = null;
  const rendered = async (registry: NodeMetrics): Promise<string> => {
    if (last && performance.now() - last.at < reuseMs) return last.text;
    rendering ??= registry
      .metrics()
      .then((text) => {
        last = { text, at: performance.now() };
        return text;
      })
      .finally(() => {
        rendering = null;
      });
    return rendering;
  };

  // The dispatcher reads `hooks` once, after init; these forward to what init built.
  const hooks: DispatchHooks = {
    before: (op, frame, session) => gateway?.hooks.before?.(op, frame, session),
    after: (op, outcome, seconds) => gateway?.hooks.after?.(op, outcome, seconds),
  };

  const route: Route = async (req, res, url) => {
    if (url.pathname !== '/metrics' || !metrics) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    if (token !== undefined && !bearerMatches(req, token)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"', 'content-length': 0 }).end();
      return true;
    }
    figures?.scraped();
    const text = await rendered(metrics);
    res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
    return true;
  };

  return {
    name: 'metrics',
    hooks,
    routes: [route],
    init(services: Services) {
      metrics = metricsFor(services);
      token = services.config.METRICS_TOKEN;
      reuseMs = services.config.METRICS_CACHE_MS;
      collectDefaultMetrics({ register: metrics.registry });
      gateway = gatewayMetrics(metrics, services);
      figures = new BoardFigures(services, {
        refreshMs: services.config.METRICS_REFRESH_MS,
        maxBoards: services.config.METRICS_MAX_BOARDS,
      });
      figures.start();
      detach = stateMetrics(metrics, services, figures);
    },
    async stop() {
      detach?.();
      await figures?.stop();
      metrics?.registry.clear();
    },
  };
}
