import { el, setText } from '../dom.js';
import { ago, count, isRecord, preview } from '../format.js';
import { PrefixTablePanel } from './prefix-table.js';

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
export class AgentsPanel extends PrefixTablePanel<AgentRow> {
  constructor() {
    super(
      'agents',
      'Agents',
      [
        ['', 'agent'],
        ['', 'node'],
        ['', 'here since'],
        ['', 'meta'],
      ],
      'No agents present on this board.',
    );
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

  protected createRow(key: string): AgentRow {
    const element = el('tr', 'agent');
    element.dataset.agent = key.slice(PREFIX.length);
    const node = el('td', 'node');
    const since = el('td', 'since');
    const meta = el('td', 'meta');
    element.append(el('td', 'name', key.slice(PREFIX.length)), node, since, meta);
    return { element, node, since, meta, sinceTs: null };
  }

  protected updateRow(row: AgentRow, key: string): void {
    const value = this.model?.entry(key)?.value;
    const record = isRecord(value) ? value : {};
    setText(row.node, typeof record.node === 'string' ? record.node : '');
    row.sinceTs = typeof record.since === 'number' ? record.since : null;
    setText(row.meta, preview(isRecord(value) ? record.meta : value, 120));
  }
}
