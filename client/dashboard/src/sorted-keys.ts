/**
 * Key names in ascending order (the order `list` uses), with the insert/remove/prefix
 * lookups the panels need. Keys sharing a prefix are contiguous, which is what lets the
 * locks, tasks and agents panels read `$locks/…` without scanning the whole board.
 */
export class SortedKeys {
  private items: string[] = [];
  private readonly members = new Set<string>();

  get all(): readonly string[] {
    return this.items;
  }

  get size(): number {
    return this.items.length;
  }

  has(key: string): boolean {
    return this.members.has(key);
  }

  replace(keys: Iterable<string>): void {
    this.items = [...keys].sort();
    this.members.clear();
    for (const key of this.items) this.members.add(key);
  }

  /** Applies many additions and removals at once: a few splices, or one re-sort when there are many. */
  update(added: string[], removed: string[]): void {
    if (added.length + removed.length > 64) {
      for (const key of removed) this.members.delete(key);
      for (const key of added) this.members.add(key);
      this.items = [...this.members].sort();
      return;
    }
    for (const key of removed) {
      if (!this.members.delete(key)) continue;
      const at = this.lowerBound(key);
      if (this.items[at] === key) this.items.splice(at, 1);
    }
    for (const key of added) {
      if (this.members.has(key)) continue;
      this.members.add(key);
      this.items.splice(this.lowerBound(key), 0, key);
    }
  }

  /** Index of the first key not below `key`. */
  lowerBound(key: string): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The keys starting with `prefix`, at most `limit` of them. */
  withPrefix(prefix: string, limit = Number.MAX_SAFE_INTEGER): string[] {
    const out: string[] = [];
    for (let i = this.lowerBound(prefix); i < this.items.length && out.length < limit; i++) {
      const key = this.items[i]!;
      if (!key.startsWith(prefix)) break;
      out.push(key);
    }
    return out;
  }
}
