import { el, setAttr, setText } from '../dom.js';
import { isRecord, preview } from '../format.js';
import { PrefixTablePanel } from './prefix-table.js';

const PREFIX = '$tasks/';
const MAX_ROWS = 200;
/** `$tasks/` also holds each task's checkpoint and spec keys; scanning is bounded all the same. */
const MAX_SCANNED = 5_000;
const STATES = ['active', 'waiting', 'delayed', 'completed', 'failed', 'cancelled'] as const;

interface TaskRow {
  element: HTMLTableRowElement;
  state: HTMLElement;
  attempt: HTMLElement;
  bar: HTMLElement;
  fill: HTMLElement;
  percent: HTMLElement;
}

/** `$tasks/<queue>/<taskId>` is a task's status; deeper keys (checkpoint, spec) are its parts. */
function isStatusKey(key: string): boolean {
  const rest = key.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  return slash > 0 && rest.indexOf('/', slash + 1) === -1 && slash < rest.length - 1;
}

/** Tasks of the board as mirrored in `$tasks/…`: state, attempt, progress. */
export class TasksPanel extends PrefixTablePanel<TaskRow> {
  constructor() {
    super(
      'tasks',
      'Tasks',
      [
        ['', 'task'],
        ['', 'state'],
        ['num', 'attempt'],
        ['', 'progress'],
      ],
      'No tasks on this board.',
    );
  }

  update(): void {
    const model = this.model;
    const keys = model ? model.keys.withPrefix(PREFIX, MAX_SCANNED).filter(isStatusKey) : [];
    this.rows.sync(keys.slice(0, MAX_ROWS));
    this.empty.hidden = keys.length > 0;
    const counts = new Map<string, number>();
    for (const key of keys) {
      const value = model?.entry(key)?.value;
      const state = isRecord(value) && typeof value.state === 'string' ? value.state : 'unknown';
      counts.set(state, (counts.get(state) ?? 0) + 1);
    }
    const parts = [...STATES, 'unknown'].flatMap((s) => (counts.get(s) ? [`${counts.get(s)} ${s}`] : []));
    setText(this.summary, parts.join(' · '));
  }

  protected createRow(key: string): TaskRow {
    const [queue = '', taskId = ''] = key.slice(PREFIX.length).split('/');
    const element = el('tr', 'task');
    element.dataset.task = taskId;
    element.dataset.queue = queue;
    const name = el('td', 'name');
    name.append(el('span', 'queue', `${queue} / `), el('span', 'id', taskId));
    const state = el('span', 'state');
    const stateCell = el('td');
    stateCell.append(state);
    const attempt = el('td', 'num attempt');
    const bar = el('div', 'bar');
    bar.setAttribute('role', 'progressbar');
    bar.setAttribute('aria-valuemin', '0');
    bar.setAttribute('aria-valuemax', '100');
    const fill = el('div', 'fill');
    bar.append(fill);
    const percent = el('span', 'percent');
    const progressCell = el('td', 'progress');
    progressCell.append(bar, percent);
    element.append(name, stateCell, attempt, progressCell);
    return { element, state, attempt, bar, fill, percent };
  }

  protected updateRow(row: TaskRow, key: string): void {
    const value = this.model?.entry(key)?.value;
    if (!isRecord(value)) {
      setText(row.state, preview(value, 40));
      return;
    }
    const state = typeof value.state === 'string' ? value.state : 'unknown';
    setText(row.state, state);
    row.state.className = `state state-${state}`;
    const attempt = typeof value.attempt === 'number' ? value.attempt : 0;
    const attempts = typeof value.attempts === 'number' ? ` of ${value.attempts}` : '';
    setText(row.attempt, `${attempt}${attempts}`);
    const progress = typeof value.progress === 'number' ? Math.max(0, Math.min(100, value.progress)) : 0;
    setAttr(row.bar, 'aria-valuenow', String(progress));
    setAttr(row.bar, 'data-progress', String(progress));
    row.fill.style.width = `${progress}%`;
    setText(row.percent, `${Math.round(progress)}%`);
    row.element.title = typeof value.error === 'string' ? `error: ${value.error}` : '';
  }
}
