/**
 * Rows of a small table kept in step with a list of keys: existing rows are updated in
 * place (so a progress bar animates instead of being rebuilt), new ones created, gone
 * ones removed, and the DOM order touched only when the order changed.
 */
export class KeyedRows<R extends { element: HTMLElement }> {
  private readonly rows = new Map<string, R>();
  private order: string[] = [];

  constructor(
    private readonly container: HTMLElement,
    private readonly create: (key: string) => R,
    private readonly update: (row: R, key: string) => void,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  forEach(fn: (row: R, key: string) => void): void {
    for (const [key, row] of this.rows) fn(row, key);
  }

  sync(keys: readonly string[]): void {
    const wanted = new Set(keys);
    for (const [key, row] of this.rows) {
      if (wanted.has(key)) continue;
      row.element.remove();
      this.rows.delete(key);
    }
    for (const key of keys) {
      let row = this.rows.get(key);
      if (!row) {
        row = this.create(key);
        this.rows.set(key, row);
      }
      this.update(row, key);
    }
    const sameOrder = keys.length === this.order.length && keys.every((k, i) => this.order[i] === k);
    if (!sameOrder) {
      this.container.append(...keys.map((k) => this.rows.get(k)!.element));
      this.order = [...keys];
    }
  }
}
