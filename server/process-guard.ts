import type { Logger } from 'pino';

/** Exit code of a node that stopped after an exception nothing caught (EX_SOFTWARE). */
const EXIT_UNCAUGHT = 70;

/**
 * What a node does with errors nothing caught.
 *
 * A rejected promise that no one awaited leaves no half-run code behind: it is logged and
 * the node keeps serving. An exception that unwound the stack to the event loop may have
 * left any state half-updated, so the node stops taking work: it closes its connections
 * with 1001 (clients reconnect to another node), waits for what is running (bounded by
 * SHUTDOWN_GRACE_MS), and exits with EXIT_UNCAUGHT so its supervisor (the cluster primary,
 * or the container runtime) starts a fresh one. A second one during that stop exits at once.
 */
export function installProcessGuard(log: Logger, stop: () => Promise<void>, graceMs: number): void {
  let rejections = 0;
  process.on('unhandledRejection', (reason) => {
    rejections++;
    log.error({ err: reason, rejections }, 'unhandled promise rejection; the node keeps serving');
  });
  let failing = false;
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; stopping this node');
    if (failing) process.exit(EXIT_UNCAUGHT);
    failing = true;
    const deadline = setTimeout(() => process.exit(EXIT_UNCAUGHT), graceMs + 5_000);
    deadline.unref();
    stop().then(
      () => process.exit(EXIT_UNCAUGHT),
      () => process.exit(EXIT_UNCAUGHT),
    );
  });
}
