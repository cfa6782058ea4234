import { startApp } from './app.js';
import { DependencyUnavailable } from './redis.js';

/** Entry point: start a node, stop it gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let app;
  try {
    app = await startApp();
  } catch (err) {
    if (err instanceof DependencyUnavailable || (err instanceof Error && err.message.startsWith('invalid configuration'))) {
      process.stderr.write(`blackboard: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
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

void main();
