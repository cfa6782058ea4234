import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { OpName } from '../../shared/protocol/messages/index.js';
import type { Config } from '../config.js';
import type { Extension } from '../extension.js';
import type { FanoutState } from '../services.js';
import { LoopLag } from './lag.js';

/** Ops that add load to every subscriber: these are the ones refused when the node is behind. */
const WRITE_OPS: ReadonlySet<OpName> = new Set(['put', 'patch', 'delete', 'txn', 'task.enqueue']);

/**
 * Write admission: past saturation, refuse writes with RATE_LIMITED (and a retryAfterMs
 * hint) instead of queueing them without bound, so acknowledgement latency stays bounded
 * and no subscriber falls behind because of the overload. Saturation is either of two
 * delays passing the budget: the event loop's lag (requests wait to be read and answered)
 * or the fan-out backlog (events wait for their subscribers' sockets).
 */
export function admissionExtension(config: Config): Extension {
  const budget = config.ADMISSION_LAG_MS;
  const lag = new LoopLag();
  let fanout: FanoutState = { backlogMs: () => 0 };
  return {
    name: 'admission',
    init(services) {
      fanout = services.fanout;
      if (budget > 0) lag.start();
    },
    hooks: {
      before(op) {
        if (budget === 0 || !WRITE_OPS.has(op)) return;
        const behind = Math.max(lag.lagMs, fanout.backlogMs());
        if (behind <= budget) return;
        throw new BlackboardError(ErrorCode.RATE_LIMITED, 'the server is saturated; retry later', {
          retryAfterMs: Math.ceil(Math.min(5_000, Math.max(10, behind * 2))),
          reason: 'overload',
        });
      },
    },
    stop() {
      lag.stop();
    },
  };
}
