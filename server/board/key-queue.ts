/**
 * Runs tasks for the same key one after another on this node. Concurrent `patch`es of
 * one key would otherwise race each other's compare-and-set and retry in vain; nodes
 * still race each other, which the compare-and-set resolves.
 */
export class KeyQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
