/** How long a shutdown waits for the clean-ups of connections it closed. */
const CLEANUP_GRACE_MS = 5_000;

/**
 * What closed connections still have to release (locks, presence), so that a shutdown
 * can wait for it, a little.
 */
export class PendingCleanups {
  private readonly pending = new Set<Promise<void>>();

  /** Runs one connection's clean-up, tracked until it settles. */
  async run(cleanup: Promise<void>): Promise<void> {
    this.pending.add(cleanup);
    try {
      await cleanup;
    } finally {
      this.pending.delete(cleanup);
    }
  }

  /** Resolves once every clean-up under way has settled, or after the grace period. */
  async drain(graceMs = CLEANUP_GRACE_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }
}
