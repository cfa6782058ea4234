import { HISTORY, type Services } from '../services.js';
import type { BoardFigures } from './board-figures.js';
import type { GaugeSample, NodeMetrics } from './registry.js';

function persisterStats(services: Services): GaugeSample | undefined {
  const history = services.capabilities.get(HISTORY);
  if (!history) return undefined;
  const stats = history.stats();
  return Object.entries(stats).flatMap(([stat, value]) => (typeof value === 'number' && Number.isFinite(value) ? [{ labels: { stat }, value }] : []));
}

/**
 * Gauges over state other modules own, read at scrape time from what is already in
 * memory (the per-board figures come from BoardFigures' last background count); and Redis
 * connection errors.
 */
export function stateMetrics(metrics: NodeMetrics, services: Services, figures: BoardFigures): () => void {
  metrics.gauge(
    'blackboard_history_persister',
    'State of the history persister as it reports it (lag, pending events, ...), by stat.',
    () => persisterStats(services),
    ['stat'],
  );
  metrics.gauge(
    'blackboard_locks_held',
    'Unexpired locks in Redis (all nodes; the first METRICS_MAX_BOARDS boards), as of the last background count.',
    () => figures.locksHeld,
  );
  metrics.gauge(
    'blackboard_tasks',
    'Tasks in Redis by state (all nodes; the first METRICS_MAX_BOARDS boards; failed includes cancelled), as of the last background count.',
    () => figures.tasksByState,
    ['state'],
  );
  metrics.gauge(
    'blackboard_board_figures_age_seconds',
    'Age of the background count behind blackboard_locks_held and blackboard_tasks.',
    () => figures.ageSeconds,
  );
  const onRedisError = () => metrics.dependencyError('redis');
  services.redis.on('error', onRedisError);
  return () => services.redis.off('error', onRedisError);
}
