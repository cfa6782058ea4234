import type { OpName } from '../../shared/protocol/messages/index.js';
import type { DispatchHooks } from '../extension.js';
import type { DeliveryStats } from '../services.js';
import type { Services } from '../services.js';
import type { NodeMetrics } from './registry.js';

/** Op latency buckets (seconds): a Lua commit takes ~0.1 ms, a durable write waits for Postgres. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface GatewayMetrics {
  hooks: DispatchHooks;
}

/** Connections, subscriptions, ops by type and result, latency, fan-out and slow consumers. */
export function gatewayMetrics(metrics: NodeMetrics, services: Services): GatewayMetrics {
  const ops = metrics.counter('blackboard_ops_total', 'Requests handled, by op and result (ok or error code).', ['op', 'result']);
  const latency = metrics.histogram('blackboard_op_duration_seconds', 'Time from a valid request frame to its reply, by op.', ['op'], LATENCY_BUCKETS);
  const opChildren = new Map<string, { inc(): void }>();
  const latencyChildren = new Map<string, { observe(value: number): void }>();
  metrics.gauge('blackboard_connections', 'Open WebSocket connections on this node.', () => services.sessions.size);
  metrics.gauge('blackboard_subscriptions', 'Live subscriptions on this node.', () => services.hub.subscriptionCount);

  const read = (pick: (s: DeliveryStats) => number) => () => pick(services.fanout.stats);
  metrics.counterFrom(
    'blackboard_event_frames_sent_total',
    'Event frames sent to subscribers (one frame may carry several revisions).',
    read((s) => s.eventFrames),
  );
  metrics.counterFrom(
    'blackboard_event_bytes_sent_total',
    'Size of the event frames sent to subscribers (string length; bytes for ASCII).',
    read((s) => s.eventBytes),
  );
  metrics.counterFrom(
    'blackboard_slow_consumers_dropped_total',
    'Connections closed with 4008 because their unsent data passed MAX_OUTBOUND_BYTES.',
    read((s) => s.slowConsumers),
  );

  return {
    hooks: {
      after(op: OpName, outcome: string, seconds: number) {
        // Labelled children are looked up once each: hashing label objects per request costs more than counting.
        const key = `${op}\u0000${outcome}`;
        let counted = opChildren.get(key);
        if (!counted) opChildren.set(key, (counted = ops.labels({ op, result: outcome })));
        counted.inc();
        let timed = latencyChildren.get(op);
        if (!timed) latencyChildren.set(op, (timed = latency.labels({ op })));
        timed.observe(seconds);
      },
    },
  };
}
