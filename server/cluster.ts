import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

/** What a worker sends the primary once it listens. */
const READY_MESSAGE = 'blackboard:ready';

/** Replacements of workers that keep dying wait longer each time, up to this. */
const MAX_RESTART_DELAY_MS = 30_000;
const FIRST_RESTART_DELAY_MS = 100;
/** A worker that served this long before dying counts as healthy: its replacement starts at once. */
const HEALTHY_RUN_MS = 60_000;

/** Tells the primary (if any) that this worker listens. */
export function announceReady(): void {
  if (cluster.isWorker) process.send?.({ type: READY_MESSAGE });
}

function isReadyMessage(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === READY_MESSAGE;
}

/**
 * WORKERS > 1: a primary process forks that many nodes sharing the listening socket (each
 * a full node of the scale-out design, so they share nothing but Redis and Postgres).
 *
 * A worker that exits before it ever listened, while no worker has listened yet, could not
 * start (configuration, Redis down): it would fail again at once, so the primary stops
 * everything and exits 1. A worker that dies later (or a replacement that cannot start
 * while others serve) is replaced, after a delay that doubles while replacements keep
 * failing, so a crash loop does not spin.
 */
export function runPrimary(workers: number, log: Logger): void {
  let stopping = false;
  let anyStarted = false;
  const startedAt = new Map<number, number>();
  let failuresInARow = 0;

  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (message: unknown) => {
      if (!isReadyMessage(message)) return;
      startedAt.set(worker.id, Date.now());
      anyStarted = true;
    });
    return worker;
  };

  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
  };

  for (let i = 0; i < workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    const started = startedAt.get(worker.id);
    startedAt.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(process.exitCode ?? 0);
      return;
    }
    if (started === undefined && !anyStarted) {
      log.error({ pid: worker.process.pid, code, signal }, 'a worker could not start; stopping');
      process.exitCode = 1;
      stopAll('SIGTERM');
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(1);
      return;
    }
    const healthy = started !== undefined && Date.now() - started >= HEALTHY_RUN_MS;
    failuresInARow = healthy ? 0 : failuresInARow + 1;
    const delay = failuresInARow === 0 ? 0 : Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** (failuresInARow - 1));
    log.warn({ pid: worker.process.pid, code, signal, startedBefore: started !== undefined, restartInMs: delay }, 'a worker died; starting a replacement');
    setTimeout(() => {
      if (!stopping) fork();
    }, delay);
  });
  process.on('SIGTERM', () => stopAll('SIGTERM'));
  process.on('SIGINT', () => stopAll('SIGINT'));
}
