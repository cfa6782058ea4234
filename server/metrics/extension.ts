import { collectDefaultMetrics } from 'prom-client';
import type { Extension } from '../extension.js';
import type { DispatchHooks } from '../gateway/dispatch.js';
import type { Route } from '../gateway/http.js';
import type { Services } from '../services.js';
import { gatewayMetrics, type GatewayMetrics } from './gateway-metrics.js';
import { metricsFor, type NodeMetrics } from './registry.js';
import { stateMetrics } from './state-metrics.js';

/** `GET /metrics` in the Prometheus text format, from this node's own registry. */
export function metricsExtension(): Extension {
  let metrics: NodeMetrics | null = null;
  let gateway: GatewayMetrics | null = null;
  let detach: (() => void) | null = null;

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
    const text = await metrics.metrics();
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
      collectDefaultMetrics({ register: metrics.registry });
      gateway = gatewayMetrics(metrics, services);
      detach = stateMetrics(metrics, services);
    },
    sessionClosed(session) {
      gateway?.sawSession(session);
    },
    stop() {
      detach?.();
      metrics?.registry.clear();
    },
  };
}
