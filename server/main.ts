import cluster from 'node:cluster';
import { startApp } from './app.js';
import { announceReady, runPrimary } from './cluster.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';
import { installProcessGuard } from './process-guard.js';
import { DependencyUnavailable } from './redis.js';
import { ClusterSplit } from './history/cluster-identity.js';

function fail(err: unknown): never {
  if (err instanceof DependencyUnavailable || err instanceof ClusterSplit || err instanceof ConfigError) {
    process.stderr.write(`blackboard: ${err.message}\n`);
    process.exit(1);
  }
  // Anything else that stops the start is a fault: say what it was and exit, rather than
  // leave a process that never listens.
  process.stderr.write(`blackboard: could not start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}

/** One node: start it, stop it gracefully on SIGTERM/SIGINT. */
async function runNode(config: Config): Promise<void> {
  const log = createLogger(config);
  let app: Awaited<ReturnType<typeof startApp>> | undefined;
  let stopping: Promise<void> | null = null;
  const stop = () => (stopping ??= app ? app.stop() : Promise.resolve());
  installProcessGuard(log, stop, config.SHUTDOWN_GRACE_MS);
  try {
    app = await startApp({ logger: log });
  } catch (err) {
    fail(err);
  }
  announceReady();
  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) process.exit(1);
    log.info({ signal }, 'shutting down');
    void stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  fail(err);
}
if (config.WORKERS > 1 && cluster.isPrimary) runPrimary(config.WORKERS, createLogger(config));
else void runNode(config);
