import type { BoardEvent } from '../../../sdk/index.js';
import { el, panel, setAttr, setText } from '../dom.js';
import { clockTime, count, preview } from '../format.js';
import type { FrameScheduler } from '../frame.js';
import { VirtualList } from '../virtual-list.js';

const ROW_HEIGHT = 20;
/** Events the log keeps (the newest); older ones are in `history`. */
const MAX_EVENTS = 10_000;
/** Trimming in chunks keeps the cost of dropping old events amortized. */
const TRIM_SLACK = 1_000;
/**
 * The log redraws at most this often: at 200 events/s every row moves on each redraw,
 * so redrawing at 60 Hz would cost a full repaint per frame for text nobody can read.
 */
const REDRAW_MS = 100;

interface LogEntry {
  seq: number;
  event: BoardEvent;
  /** Lower-case text the filter searches, made on first use. */
  haystack?: string;
}

function haystack(entry: LogEntry): string {
  const e = entry.event;
  entry.haystack ??= `${e.rev} ${e.type} ${e.key} ${e.actor} ${e.type === 'put' ? preview(e.value, 400) : ''}`.toLowerCase();
  return entry.haystack;
}

/** Every event of the board as it arrives, newest first, with a text filter; virtualized. */
export class EventLog {
  readonly root: HTMLElement;
  private readonly list: VirtualList;
  private readonly summary = el('span', 'summary');
  private readonly filterInput = el('input', 'filter');
  private all: LogEntry[] = [];
  private shown: LogEntry[] = [];
  private filter = '';
  private nextSeq = 0;
  /** Events loaded from history on opening get sequence numbers below every live one. */
  private firstSeq = 0;
  private skipped = 0;
  private lastRedraw = 0;
  /** Matching events added since the last redraw (rows the view must move down by). */
  private unshown = 0;
  private redrawTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    scheduler: FrameScheduler,
    private readonly onSelect: (key: string, rev: number) => void,
  ) {
    const { root, head, body } = panel('events', 'Events');
    this.root = root;
    this.filterInput.id = 'event-filter';
    this.filterInput.type = 'search';
    this.filterInput.placeholder = 'filter: key, agent, type, value';
    this.filterInput.addEventListener('input', () => this.setFilter(this.filterInput.value));
    head.append(this.summary, this.filterInput);
    this.list = new VirtualList(ROW_HEIGHT, (row, index) => this.renderRow(row, index), scheduler, 'log');
    this.list.element.addEventListener('click', (ev) => {
      const row = (ev.target as Element | null)?.closest<HTMLElement>('.vrow');
      const entry = row ? this.entryAt(Number(row.dataset.index)) : undefined;
      if (entry) this.onSelect(entry.event.key, entry.event.rev);
    });
    body.append(this.list.element);
    this.updateSummary();
  }

  clear(): void {
    this.all = [];
    this.shown = [];
    this.skipped = 0;
    this.unshown = 0;
    this.list.setCount(0);
    this.updateSummary();
  }

  /** Older events (from `history`) placed before everything already in the log. */
  prepend(events: readonly BoardEvent[]): void {
    const oldest = this.all[0]?.event.rev ?? Number.MAX_SAFE_INTEGER;
    const older = events.filter((e) => e.rev < oldest).slice(-MAX_EVENTS);
    if (older.length === 0) return;
    const entries = older.map((event, i) => ({ seq: this.firstSeq - older.length + i, event }));
    this.firstSeq -= older.length;
    this.all = [...entries, ...this.all];
    this.shown = [...entries.filter((e) => this.matches(e)), ...this.shown];
    this.list.setCount(this.shown.length);
    this.list.refresh();
    this.updateSummary();
  }

  add(events: readonly BoardEvent[], skipped: number): void {
    this.skipped += skipped;
    if (events.length === 0 && skipped === 0) return;
    let matched = 0;
    for (const event of events) {
      const entry: LogEntry = { seq: this.nextSeq++, event };
      this.all.push(entry);
      if (this.matches(entry)) {
        this.shown.push(entry);
        matched++;
      }
    }
    if (this.all.length > MAX_EVENTS + TRIM_SLACK) {
      const dropped = this.all.length - MAX_EVENTS;
      this.all.splice(0, dropped);
      const oldest = this.all[0]!.seq;
      let cut = 0;
      while (cut < this.shown.length && this.shown[cut]!.seq < oldest) cut++;
      if (cut > 0) this.shown.splice(0, cut);
    }
    this.unshown += matched;
    this.redrawSoon();
  }

  /** Draws what came since the last redraw, now or when REDRAW_MS has passed since it. */
  private redrawSoon(): void {
    if (this.redrawTimer) return;
    const wait = this.lastRedraw + REDRAW_MS - performance.now();
    if (wait <= 0) return this.redraw();
    this.redrawTimer = setTimeout(() => {
      this.redrawTimer = null;
      this.redraw();
    }, wait);
  }

  private redraw(): void {
    this.lastRedraw = performance.now();
    // Newest rows go on top; a reader scrolled down keeps looking at the same events.
    if (this.unshown > 0 && !this.list.scrolledToTop) this.list.shiftBy(this.unshown);
    this.unshown = 0;
    this.list.setCount(this.shown.length);
    this.list.refresh();
    this.updateSummary();
  }

  private setFilter(text: string): void {
    this.filter = text.trim().toLowerCase();
    this.shown = this.filter === '' ? [...this.all] : this.all.filter((e) => this.matches(e));
    this.unshown = 0;
    this.list.setCount(this.shown.length);
    this.list.refresh();
    this.updateSummary();
  }

  private matches(entry: LogEntry): boolean {
    return this.filter === '' || haystack(entry).includes(this.filter);
  }

  private updateSummary(): void {
    const total = count(this.all.length, 'event');
    const text = this.filter === '' ? total : `${this.shown.length.toLocaleString('en-US')} of ${total} match`;
    setText(this.summary, this.skipped > 0 ? `${text} (${this.skipped.toLocaleString('en-US')} not shown: too many at once)` : text);
  }

  private entryAt(index: number): LogEntry | undefined {
    return this.shown[this.shown.length - 1 - index];
  }

  private renderRow(row: HTMLDivElement, index: number): void {
    const entry = this.entryAt(index);
    if (!entry) return;
    if (row.childElementCount === 0) {
      row.className = 'vrow event';
      row.append(el('span', 'ts'), el('span', 'rev'), el('span', 'type'), el('span', 'name'), el('span', 'actor'), el('span', 'value'));
    }
    row.dataset.index = String(index);
    const bound = String(entry.seq);
    if (row.dataset.bound === bound) return;
    row.dataset.bound = bound;
    const e = entry.event;
    const [ts, rev, type, key, actor, value] = Array.from(row.children);
    setAttr(row, 'data-rev', String(e.rev));
    setText(ts!, clockTime(e.ts));
    setText(rev!, `#${e.rev}`);
    setText(type!, e.type);
    type!.className = `type ${e.type}`;
    setText(key!, e.key);
    setText(actor!, e.actor);
    setText(value!, e.type === 'put' ? preview(e.value, 160) : '');
  }
}
