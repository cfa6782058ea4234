/**
 * Acquires waiting on this node for a lock, by resource key. A waiter sleeps a jittered
 * poll interval (another node may free the lock), but a release on this node wakes the
 * longest-waiting one at once: hand-over without a poll's delay, and first come first
 * served among this node's waiters. Only one is woken, so a release is one attempt, not a herd.
 */
export class LocalWaiters {
  private readonly queues = new Map<string, Array<() => void>>();

  /** Resolves after `ms`, or earlier if woken. */
  pause(resource: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let queue = this.queues.get(resource);
      if (!queue) this.queues.set(resource, (queue = []));
      const wake = () => {
        clearTimeout(timer);
        const q = this.queues.get(resource);
        const at = q?.indexOf(wake) ?? -1;
        if (q && at >= 0) q.splice(at, 1);
        if (q?.length === 0) this.queues.delete(resource);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      queue.push(wake);
    });
  }

  wakeOne(resource: string): void {
    this.queues.get(resource)?.[0]?.();
  }
}
