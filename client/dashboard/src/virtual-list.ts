import { el } from './dom.js';
import type { FrameScheduler } from './frame.js';

/** Rows drawn beyond each edge of the viewport, so a quick scroll shows no blank band. */
const OVERSCAN = 8;

/**
 * A list that keeps DOM nodes only for the rows in view (plus a few): 10,000 keys cost
 * about as much as 40. Rows have one fixed height; a spacer gives the scrollbar its size,
 * and a small pool of row elements is moved and refilled as the view scrolls.
 */
export class VirtualList {
  readonly element: HTMLDivElement;
  private readonly spacer: HTMLDivElement;
  private readonly pool: HTMLDivElement[] = [];
  private count = 0;
  private readonly renderNow = () => this.render();
  /** Runs after each redraw (the key tree forgets flashes of rows that were out of view). */
  afterRender: (() => void) | null = null;

  constructor(
    private readonly rowHeight: number,
    private readonly renderRow: (row: HTMLDivElement, index: number) => void,
    private readonly scheduler: FrameScheduler,
    className = '',
  ) {
    this.element = el('div', `vlist ${className}`.trim());
    this.spacer = el('div', 'vlist-spacer');
    this.element.append(this.spacer);
    this.element.addEventListener('scroll', () => this.refresh(), { passive: true });
    new ResizeObserver(() => this.refresh()).observe(this.element);
  }

  get length(): number {
    return this.count;
  }

  setCount(count: number): void {
    if (count === this.count) return;
    this.count = count;
    this.spacer.style.height = `${count * this.rowHeight}px`;
    this.refresh();
  }

  /** Redraws the visible rows at the next frame. */
  refresh(): void {
    this.scheduler.schedule(this.renderNow);
  }

  /** Keeps what the reader sees in place when `rows` rows are inserted above it. */
  shiftBy(rows: number): void {
    if (this.element.scrollTop > 0) this.element.scrollTop += rows * this.rowHeight;
  }

  get scrolledToTop(): boolean {
    return this.element.scrollTop < this.rowHeight / 2;
  }

  scrollToIndex(index: number): void {
    const top = index * this.rowHeight;
    const view = this.element.clientHeight;
    if (top < this.element.scrollTop || top + this.rowHeight > this.element.scrollTop + view) {
      this.element.scrollTop = Math.max(0, top - view / 3);
    }
  }

  private render(): void {
    const viewHeight = this.element.clientHeight;
    const first = Math.max(0, Math.floor(this.element.scrollTop / this.rowHeight) - OVERSCAN);
    const last = Math.min(this.count, Math.ceil((this.element.scrollTop + viewHeight) / this.rowHeight) + OVERSCAN);
    const needed = Math.max(0, last - first);
    while (this.pool.length < needed) {
      const row = el('div', 'vrow');
      row.style.height = `${this.rowHeight}px`;
      this.pool.push(row);
    }
    // Row i always lives in slot i % pool size: while a row stays in view it keeps its
    // element, so scrolling moves nodes without rebinding them (and a click lands where aimed).
    const used = new Set<HTMLDivElement>();
    for (let index = first; index < last; index++) {
      const row = this.pool[index % this.pool.length]!;
      used.add(row);
      if (!row.isConnected) this.element.append(row);
      const top = `translateY(${index * this.rowHeight}px)`;
      if (row.style.transform !== top) row.style.transform = top;
      this.renderRow(row, index);
    }
    // Spare rows leave the document, so nothing (a query, a screen reader) sees stale content.
    for (const row of this.pool) if (!used.has(row) && row.isConnected) row.remove();
    this.afterRender?.();
  }
}
