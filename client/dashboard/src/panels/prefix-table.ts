import type { BoardModel } from '../board-model.js';
import { el, panel } from '../dom.js';
import { KeyedRows } from '../keyed-rows.js';

/**
 * A panel that lists the keys under one server prefix (`$locks/`, `$presence/`, `$tasks/`)
 * as table rows, one row per key, updated in place. Subclasses say how a row is built,
 * refreshed and summarised.
 */
export abstract class PrefixTablePanel<Row extends { element: HTMLTableRowElement }> {
  readonly root: HTMLElement;
  protected readonly summary = el('span', 'summary');
  protected readonly empty: HTMLElement;
  protected readonly rows: KeyedRows<Row>;
  protected model: BoardModel | null = null;

  constructor(name: string, title: string, columns: ReadonlyArray<readonly [className: string, label: string]>, emptyText: string) {
    const { root, head, body } = panel(name, title);
    this.root = root;
    this.empty = el('p', 'note', emptyText);
    head.append(this.summary);
    const table = el('table', 'grid');
    const header = el('tr');
    header.append(...columns.map(([className, label]) => el('th', className, label)));
    const thead = el('thead');
    thead.append(header);
    const tbody = el('tbody');
    table.append(thead, tbody);
    body.append(this.empty, table);
    this.rows = new KeyedRows(
      tbody,
      (key) => this.createRow(key),
      (row, key) => this.updateRow(row, key),
    );
  }

  setBoard(model: BoardModel | null): void {
    this.model = model;
    this.update();
  }

  abstract update(): void;
  protected abstract createRow(key: string): Row;
  protected abstract updateRow(row: Row, key: string): void;
}
