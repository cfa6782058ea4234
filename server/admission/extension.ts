import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { OpName } from '../../shared/protocol/messages/index.js';
import type { Config } from '../config.js';
import type { Extension } from '../extension.js';
import { LoopLag } from './lag.js';

/** Ops that add load to every subscriber: these are the ones refused when the node is behind. */
const WRITE_OPS: ReadonlySet<OpName> = new Set(['put', 'patch', 'delete', 'txn', 'task.enqueue']);

/**
 * Write admission: past saturation, refuse writes with RATE_LIMITED (and a retryAfterMs
 * hint) instead of queueing them without bound, so acknowledgement latency stays bounded
 * and no subscriber falls behind because of the overload.
 */
export function admissionExtension(config: Config): Extension {
  const budget = config.ADMISSION_LAG_MS;
  const lag = new LoopLag();
  return {
    name: 'admission',
    init() {
      if (budget > 0) lag.start();
    },
    hooks: {
      before(op) {
        if (budget === 0 || !WRITE_OPS.has(op) || lag.lagMs <= budget) return;
        throw new BlackboardError(ErrorCode.RATE_LIMITED, 'the server is saturated; retry later', {
          retryAfterMs: Math.ceil(Math.min(5_000, lag.lagMs * 2)),
          reason: 'overload',
        });
      },
    },
    stop() {
      lag.stop();
    },
  };
}
