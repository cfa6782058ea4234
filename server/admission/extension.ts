import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { OpName } from '../../shared/protocol/messages/index.js';
import type { Config } from '../config.js';
import type { Extension } from '../extension.js';
import type { InFlightClock } from '../board/inflight.js';
import type { FanoutState } from '../services.js';
import { LoopLag } from './lag.js';

/** Ops that add load to every subscriber: these are the ones refused when the node is behind. */
const WRITE_OPS: ReadonlySet<OpName> = new Set(['put', 'patch', 'delete', 'txn', 'task.enqueue']);

/**
 * Write admission: past saturation, refuse writes with RATE_LIMITED (and a retryAfterMs
 * hint) instead of queueing them without bound, so acknowledgement latency stays bounded
 * and no subscriber falls behind because of the overload. A write is refused when
 * - the event loop lags, or the oldest commit still waiting for Redis is older, than
 *   ADMISSION_LAG_MS (a new write would wait that long to be read, committed, answered);
 * - ADMISSION_MAX_COMMITS commits are already waiting for Redis (a burst read at once
 *   would otherwise be admitted whole and wait behind itself);
 * - the oldest event not yet handed to its subscriber's socket is older than
 *   ADMISSION_BACKLOG_MS. Fan-out runs in slices and puts more events per frame as load
 *   grows, so this budget is larger: it is the safety net for a fan-out that cannot keep up.
 * Each check is off when its setting is 0. A write from a connection with no other request
 * in progress is admitted whatever the signals say: closed-loop clients bound their own
 * load, and the agents that overload a node are the ones with many writes in flight.
 */
export function admissionExtension(config: Config): Extension {
  const budget = config.ADMISSION_LAG_MS;
  const backlogBudget = config.ADMISSION_BACKLOG_MS;
  const maxCommits = config.ADMISSION_MAX_COMMITS;
  const lag = new LoopLag();
  let fanout: Pick<FanoutState, 'backlogMs'> = { backlogMs: () => 0 };
  let commits: InFlightClock | null = null;
  return {
    name: 'admission',
    init(services) {
      fanout = services.fanout;
      commits = services.store.commits;
      if (budget > 0) lag.start();
    },
    hooks: {
      admit(op, session) {
        // A connection with nothing else in progress adds one write at most: it is never
        // refused, so a paced agent keeps writing while a flooding one is turned away.
        if (!WRITE_OPS.has(op) || session.inflight === 0) return;
        let behind = 0;
        let signal = '';
        // A new write waits for the event loop, then behind the commits already sent to Redis.
        const waits = budget > 0 ? Math.max(lag.lagMs, commits?.oldestAgeMs() ?? 0) : 0;
        if (waits > budget) {
          behind = waits * 2;
          signal = 'lag';
        } else if (maxCommits > 0 && (commits?.size ?? 0) >= maxCommits) {
          behind = Math.max(10, budget);
          signal = 'commits';
        } else if (backlogBudget > 0 && fanout.backlogMs() > backlogBudget) {
          behind = fanout.backlogMs();
          signal = 'fanout';
        }
        if (behind === 0) return;
        throw BlackboardError.refusal(ErrorCode.RATE_LIMITED, 'the server is saturated; retry later', {
          retryAfterMs: Math.ceil(Math.min(5_000, Math.max(10, behind))),
          reason: 'overload',
          signal,
        });
      },
    },
    stop() {
      lag.stop();
    },
  };
}
