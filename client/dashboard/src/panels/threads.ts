import { decodeSegment, encodeSegment, invertCheckpointId } from '../../../langgraph/keys.js';
import type { BoardModel } from '../board-model.js';
import { el, note, panel, setText } from '../dom.js';
import { isRecord, preview } from '../format.js';
import { KeyedRows } from '../keyed-rows.js';

/** Where BlackboardSaver writes by default (`keyPrefix`). */
const ROOT = 'lg/';
const MAX_THREADS = 100;
/** Keys looked at under `lg/`: checkpoints, writes and channel values all live there. */
const MAX_SCANNED = 20_000;
const MAX_STEPS = 200;
const HEAD_SUFFIX = '/checkpoints';

interface ThreadRow {
  element: HTMLTableRowElement;
  step: HTMLElement;
  latest: HTMLElement;
}

/** `lg/<thread>/<ns>/checkpoints`: the head of one (thread, namespace). */
function isHeadKey(key: string): boolean {
  return key.endsWith(HEAD_SUFFIX) && key.slice(ROOT.length).split('/').length === 3;
}

function describeHead(headKey: string): { thread: string; ns: string } {
  const [thread = '', ns = ''] = headKey.slice(ROOT.length).split('/');
  return { thread: decodeSegment(thread), ns: decodeSegment(ns) };
}

interface CheckpointView {
  key: string;
  id: string;
  step: string;
  source: string;
  ts: string;
  versions: Record<string, unknown>;
  writes: number;
}

/** A stored channel value as the page shows it: JSON as it is, other types by size. */
function shownValue(stored: unknown): string {
  if (!isRecord(stored)) return '—';
  if ('v' in stored) return preview(stored.v, 120);
  if (typeof stored.size === 'number') return `(${String(stored.t)}, ${stored.size.toLocaleString('en-US')} bytes in ${String(stored.parts)} parts)`;
  if (typeof stored.b64 === 'string') return `(${String(stored.t)}, ${Math.floor((stored.b64.length * 3) / 4).toLocaleString('en-US')} bytes)`;
  return preview(stored, 120);
}

/**
 * LangGraph threads written by BlackboardSaver: each (thread, namespace) with its latest
 * step, and for the chosen one its checkpoints as a timeline with the channel values at
 * each step. A step opens its checkpoint key in the key tree and the detail panel, whose
 * history shows every change of it.
 */
export class ThreadsPanel {
  readonly root: HTMLElement;
  private readonly summary = el('span', 'summary');
  private readonly empty = note('No LangGraph threads on this board.');
  private readonly threads: KeyedRows<ThreadRow>;
  private readonly timeline = el('ol', 'timeline');
  private readonly timelineTitle = el('h3', 'timeline-title');
  private model: BoardModel | null = null;
  private selected: string | null = null;

  constructor(private readonly onSelectKey: (key: string) => void) {
    const { root, head, body } = panel('threads', 'LangGraph threads');
    this.root = root;
    head.append(this.summary);
    const table = el('table', 'grid');
    const header = el('tr');
    header.append(el('th', '', 'thread'), el('th', 'num', 'step'), el('th', '', 'latest'));
    const thead = el('thead');
    thead.append(header);
    const tbody = el('tbody');
    table.append(thead, tbody);
    body.append(this.empty, table, this.timelineTitle, this.timeline);
    this.threads = new KeyedRows(
      tbody,
      (key) => this.createRow(key),
      (row, key) => this.updateRow(row, key),
    );
  }

  setBoard(model: BoardModel | null): void {
    this.model = model;
    this.selected = null;
    this.update();
  }

  update(): void {
    const model = this.model;
    const heads = model ? model.keys.withPrefix(ROOT, MAX_SCANNED).filter(isHeadKey) : [];
    this.threads.sync(heads.slice(0, MAX_THREADS));
    this.empty.hidden = heads.length > 0;
    // Most boards have no LangGraph threads: the panel takes no room from the others there.
    this.root.hidden = heads.length === 0;
    setText(this.summary, heads.length > 0 ? `${heads.length}` : '');
    if (this.selected === null && heads.length > 0) this.selected = heads[0]!;
    if (this.selected !== null && !heads.includes(this.selected)) this.selected = null;
    this.threads.forEach((row, key) => row.element.classList.toggle('selected', key === this.selected));
    this.drawTimeline();
  }

  private createRow(key: string): ThreadRow {
    const { thread, ns } = describeHead(key);
    const element = el('tr', 'thread');
    element.dataset.thread = thread;
    element.dataset.ns = ns;
    const name = el('td', 'name', ns === '' ? thread : `${thread} · ${ns}`);
    const step = el('td', 'num step');
    const latest = el('td', 'latest');
    element.append(name, step, latest);
    element.addEventListener('click', () => {
      this.selected = key;
      this.update();
    });
    return { element, step, latest };
  }

  private updateRow(row: ThreadRow, key: string): void {
    const head = this.model?.entry(key)?.value;
    const metadata = isRecord(head) && isRecord(head.metadata) ? head.metadata : {};
    setText(row.step, typeof metadata.step === 'number' ? String(metadata.step) : '');
    const checkpoint = isRecord(head) && isRecord(head.checkpoint) ? head.checkpoint : {};
    setText(row.latest, typeof checkpoint.ts === 'string' ? checkpoint.ts.replace('T', ' ').slice(0, 19) : '');
  }

  /** The checkpoints of the selected thread, oldest first (their keys sort newest first). */
  private checkpoints(headKey: string): CheckpointView[] {
    const model = this.model;
    if (!model) return [];
    const under = model.keys.withPrefix(`${headKey}/`, MAX_SCANNED);
    const views: CheckpointView[] = [];
    for (const key of under) {
      const rest = key.slice(headKey.length + 1);
      if (rest.includes('/')) {
        const last = views[views.length - 1];
        if (last && key.startsWith(`${last.key}/`) && rest.split('/').length === 2) last.writes++;
        continue;
      }
      const value = model.entry(key)?.value;
      const checkpoint = isRecord(value) && isRecord(value.checkpoint) ? value.checkpoint : {};
      const metadata = isRecord(value) && isRecord(value.metadata) ? value.metadata : {};
      let id = '';
      try {
        id = invertCheckpointId(rest);
      } catch {
        continue;
      }
      views.push({
        key,
        id,
        step: typeof metadata.step === 'number' ? String(metadata.step) : '?',
        source: typeof metadata.source === 'string' ? metadata.source : '',
        ts: typeof checkpoint.ts === 'string' ? checkpoint.ts : '',
        versions: isRecord(checkpoint.channel_versions) ? checkpoint.channel_versions : {},
        writes: 0,
      });
    }
    return views.reverse().slice(-MAX_STEPS);
  }

  private drawTimeline(): void {
    const headKey = this.selected;
    const model = this.model;
    if (!headKey || !model) {
      setText(this.timelineTitle, '');
      this.timeline.replaceChildren();
      return;
    }
    const { thread, ns } = describeHead(headKey);
    setText(this.timelineTitle, `Thread ${thread}${ns ? ` · ${ns}` : ''}`);
    const base = headKey.slice(0, -HEAD_SUFFIX.length);
    const head = model.entry(headKey)?.value;
    const inline = isRecord(head) && isRecord(head.values) ? head.values : {};
    const headId = isRecord(head) && isRecord(head.checkpoint) ? head.checkpoint.id : undefined;
    const items = this.checkpoints(headKey).map((cp) => {
      const item = el('li', cp.id === headId ? 'checkpoint latest' : 'checkpoint');
      item.dataset.checkpoint = cp.id;
      item.dataset.step = cp.step;
      const title = el('div', 'checkpoint-head');
      title.append(
        el('span', 'step', `step ${cp.step}`),
        el('span', 'source', cp.source),
        el('span', 'ts', cp.ts.replace('T', ' ').slice(11, 23)),
        el('span', 'writes', cp.writes > 0 ? `${cp.writes} pending write${cp.writes === 1 ? '' : 's'}` : ''),
      );
      const channels = el('dl', 'channels');
      for (const [channel, version] of Object.entries(cp.versions)) {
        if (channel.startsWith('branch:') || channel.startsWith('__')) continue;
        const blobKey = `${base}/channels/${encodeSegment(channel)}/${encodeSegment(String(version))}`;
        const stored = cp.id === headId && channel in inline ? inline[channel] : model.entry(blobKey)?.value;
        channels.append(el('dt', '', channel), el('dd', '', shownValue(stored)));
      }
      item.append(title, channels);
      item.addEventListener('click', () => this.onSelectKey(cp.key));
      return item;
    });
    this.timeline.replaceChildren(...items);
  }
}
