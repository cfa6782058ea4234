import { cancelFlash, el, flash, panel, setAttr, setText } from '../dom.js';
import { count, preview } from '../format.js';
import type { FrameScheduler } from '../frame.js';
import { treeRows, type TreeRow } from '../tree-rows.js';
import { VirtualList } from '../virtual-list.js';

interface TreeEntry {
  value: unknown;
  version: number;
  modRev: number;
}

/** What the tree draws: the live replica, or the board as of a past revision. */
export interface TreeSource {
  keys: readonly string[];
  entry(key: string): TreeEntry | undefined;
  /** null: live. */
  pastRev: number | null;
}

const ROW_HEIGHT = 22;
/** A key and its modRev name one value exactly, so previews are cached by both. */
const MAX_CACHED_PREVIEWS = 50_000;

/** The selected board's keys as a collapsible tree with live values; virtualized. */
export class KeyTree {
  readonly root: HTMLElement;
  readonly toolbar: HTMLElement;
  private readonly list: VirtualList;
  private readonly summary = el('span', 'summary');
  private readonly filterInput = el('input', 'filter');
  private source: TreeSource = { keys: [], entry: () => undefined, pastRev: null };
  private rows: TreeRow[] = [];
  /** The server's own keys have panels of their own, so their folders start closed. */
  private readonly collapsed = new Set<string>(['$locks/', '$presence/', '$tasks/']);
  private filter = '';
  private flashing = new Set<string>();
  private readonly previews = new Map<string, { modRev: number; text: string }>();
  private selected: string | null = null;
  private readonly rebuildNow = () => this.rebuild();

  constructor(
    private readonly scheduler: FrameScheduler,
    private readonly onSelect: (key: string) => void,
  ) {
    const { root, head, body } = panel('keys', 'Keys');
    this.root = root;
    this.filterInput.id = 'key-filter';
    this.filterInput.type = 'search';
    this.filterInput.placeholder = 'filter keys';
    this.filterInput.addEventListener('input', () => {
      this.filter = this.filterInput.value.trim();
      this.scheduler.schedule(this.rebuildNow);
    });
    head.append(this.summary, this.filterInput);
    this.toolbar = el('div', 'toolbar');
    this.list = new VirtualList(ROW_HEIGHT, (row, index) => this.renderRow(row, index), scheduler, 'tree');
    this.list.element.addEventListener('click', (ev) => this.onClick(ev));
    this.list.afterRender = () => this.flashing.clear();
    body.append(this.toolbar, this.list.element);
  }

  setSource(source: TreeSource): void {
    this.source = source;
    this.flashing.clear();
    this.scheduler.schedule(this.rebuildNow);
  }

  get pastRev(): number | null {
    return this.source.pastRev;
  }

  /** Live changes of this frame: reshape the tree if keys came or went, redraw, flash what changed. */
  changed(keys: ReadonlySet<string>, structure: boolean): void {
    if (this.source.pastRev !== null) return;
    for (const key of keys) this.flashing.add(key);
    if (structure) this.scheduler.schedule(this.rebuildNow);
    else this.list.refresh();
  }

  /** Highlights a key, scrolling it into view if the tree shows it (a click in the event log). */
  select(key: string | null): void {
    this.selected = key;
    const index = key === null ? -1 : this.rows.findIndex((r) => !r.folder && r.key === key);
    if (index >= 0) this.list.scrollToIndex(index);
    this.list.refresh();
  }

  private rebuild(): void {
    this.rows = treeRows(this.source.keys, this.collapsed, this.filter);
    const keys = this.source.keys.length;
    const shown = this.filter ? `, ${count(this.rows.filter((r) => !r.folder).length, 'match', 'matches')}` : '';
    const when = this.source.pastRev === null ? '' : ` at rev ${this.source.pastRev}`;
    setText(this.summary, `${count(keys, 'key')}${when}${shown}`);
    this.root.classList.toggle('past', this.source.pastRev !== null);
    this.list.setCount(this.rows.length);
    this.list.refresh();
  }

  private previewOf(key: string, entry: TreeEntry): string {
    const cached = this.previews.get(key);
    if (cached && cached.modRev === entry.modRev) return cached.text;
    if (this.previews.size >= MAX_CACHED_PREVIEWS) this.previews.clear();
    const text = preview(entry.value);
    this.previews.set(key, { modRev: entry.modRev, text });
    return text;
  }

  private renderRow(row: HTMLDivElement, index: number): void {
    const item = this.rows[index];
    if (!item) return;
    if (row.childElementCount === 0) row.append(el('span', 'name'), el('span', 'value'), el('span', 'meta'));
    const [name, value, meta] = [row.children[0]!, row.children[1]!, row.children[2]!];
    row.style.paddingLeft = `${6 + item.depth * 14}px`;
    if (item.folder) {
      const bound = `folder:${item.path}`;
      if (row.dataset.bound !== bound) {
        cancelFlash(value);
        row.dataset.bound = bound;
        row.removeAttribute('data-key');
        setAttr(row, 'data-folder', item.path);
        row.className = 'vrow folder';
      }
      setText(name, `${item.collapsed ? '▸' : '▾'} ${item.name}/`);
      setText(value, '');
      setText(meta, count(item.size, 'key'));
      return;
    }
    const bound = `key:${item.key}`;
    if (row.dataset.bound !== bound) {
      cancelFlash(value);
      row.dataset.bound = bound;
      row.removeAttribute('data-folder');
      setAttr(row, 'data-key', item.key);
      row.className = 'vrow key';
    }
    row.classList.toggle('selected', item.key === this.selected);
    const entry = this.source.entry(item.key);
    setText(name, item.name);
    setText(value, entry ? this.previewOf(item.key, entry) : '—');
    setText(meta, entry ? `v${entry.version} @${entry.modRev}` : '');
    if (this.flashing.delete(item.key)) flash(value);
  }

  private onClick(ev: MouseEvent): void {
    const row = (ev.target as Element | null)?.closest<HTMLElement>('.vrow');
    if (!row) return;
    const folder = row.dataset.folder;
    if (folder !== undefined) {
      if (!this.collapsed.delete(folder)) this.collapsed.add(folder);
      this.scheduler.schedule(this.rebuildNow);
      return;
    }
    const key = row.dataset.key;
    if (key !== undefined) this.onSelect(key);
  }
}
