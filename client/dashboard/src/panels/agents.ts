import type { BoardModel } from '../board-model.js';
import { el, panel, setText } from '../dom.js';
import { ago, count, isRecord, preview } from '../format.js';
import { KeyedRows } from '../keyed-rows.js';

const PREFIX = '$presence/';
const MAX_ROWS = 200;

interface AgentRow {
  element: HTMLTableRowElement;
  node: HTMLElement;
  since: HTMLElement;
  meta: HTMLElement;
  sinceTs: number | null;
}

/** `$presence/<agent>` = {agent, meta, since, node}: who is on the board now. */
export class AgentsPanel {
  readonly root: HTMLElement;
  private readonly summary = el('span', 'summary');
  private readonly empty = el('p', 'note', 'No agents present on this board.');
  private readonly rows: KeyedRows<AgentRow>;
  private model: BoardModel | null = null;

  constructor() {
    const { root, head, body } = panel('agents', 'Agents');
    this.root = root;
    head.append(this.summary);
    const table = el('table', 'grid');
    const header = el('tr');
    header.append(el('th', '', 'agent'), el('th', '', 'node'), el('th', '', 'here since'), el('th', '', 'meta'));
    const thead = el('thead');
    thead.append(header);
    const tbody = el('tbody');
    table.append(thead, tbody);
    body.append(this.empty, table);
    this.rows = new KeyedRows(tbody, (key) => this.createRow(key), (row, key) => this.updateRow(row, key));
  }

  setBoard(model: BoardModel | null): void {
    this.model = model;
    this.update();
  }

  update(): void {
    const keys = this.model?.keys.withPrefix(PREFIX, MAX_ROWS) ?? [];
    this.rows.sync(keys);
    this.empty.hidden = keys.length > 0;
    setText(this.summary, keys.length > 0 ? count(keys.length, 'agent') : '');
    this.tick();
  }

  tick(now = Date.now()): void {
    this.rows.forEach((row) => setText(row.since, row.sinceTs === null ? '—' : ago(row.sinceTs, now)));
  }

  private createRow(key: string): AgentRow {
    const element = el('tr', 'agent');
    element.dataset.agent = key.slice(PREFIX.length);
    const node = el('td', 'node');
    const since = el('td', 'since');
    const meta = el('td', 'meta');
    element.append(el('td', 'name', key.slice(PREFIX.length)), node, since, meta);
    return { element, node, since, meta, sinceTs: null };
  }

  private updateRow(row: AgentRow, key: string): void {
    const value = this.model?.entry(key)?.value;
    const record = isRecord(value) ? value : {};
    setText(row.node, typeof record.node === 'string' ? record.node : '');
    row.sinceTs = typeof record.since === 'number' ? record.since : null;
    setText(row.meta, preview(isRecord(value) ? record.meta : value, 120));
  }
}
