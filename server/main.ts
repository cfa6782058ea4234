import cluster from 'node:cluster';
import { startApp } from './app.js';
import { loadConfig } from './config.js';
import { DependencyUnavailable } from './redis.js';

function fail(err: unknown): never {
  if (err instanceof DependencyUnavailable || (err instanceof Error && err.message.startsWith('invalid configuration'))) {
    process.stderr.write(`blackboard: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

/** One node: start it, stop it gracefully on SIGTERM/SIGINT. */
async function runNode(): Promise<void> {
  let app;
  try {
    app = await startApp();
  } catch (err) {
    fail(err);
  }
  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) process.exit(1);
    app.services.log.info({ signal }, 'shutting down');
    void app.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/**
 * WORKERS > 1: a primary process forks that many nodes sharing the listening socket (each
 * a full node of the scale-out design, so they share nothing but Redis and Postgres), and
 * replaces a worker that dies.
 */
function runPrimary(workers: number): void {
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < workers; i++) fork();
  cluster.on('exit', (worker, code) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    // A worker that cannot start (configuration, Redis down) would fail again at once.
    if (code === 1) {
      process.stderr.write(`blackboard: worker ${worker.process.pid} could not start; stopping\n`);
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
      process.exitCode = 1;
      return;
    }
    fork();
  });
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

let workers = 1;
try {
  workers = loadConfig().WORKERS;
} catch (err) {
  fail(err);
}
if (workers > 1 && cluster.isPrimary) runPrimary(workers);
else void runNode();
