import { BlackboardError } from '../../../sdk/index.js';
import type { PastBoard } from '../board-at.js';
import { el, setText } from '../dom.js';
import { count } from '../format.js';

/** Slider moves closer together than this load only the last position. */
const SETTLE_MS = 120;

/**
 * A slider over the board's revisions. At the right end the tree is live; anywhere else
 * it shows the board as of that revision, read from history.
 */
export class TimeTravel {
  readonly root: HTMLElement;
  private readonly slider = el('input', 'slider');
  private readonly label = el('span', 'time-label');
  private readonly liveButton = el('button', 'live-button', 'Live');
  private readonly status = el('span', 'time-status');
  private liveRev = 0;
  private pastRev: number | null = null;
  /** Where the thumb was dragged to, before that revision is loaded. */
  private pending: number | null = null;
  private loadSeq = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly load: (rev: number) => Promise<PastBoard>,
    private readonly show: (past: PastBoard | null) => void,
  ) {
    this.root = el('div', 'time-travel');
    this.slider.id = 'time-slider';
    this.slider.type = 'range';
    this.slider.min = '0';
    this.slider.step = '1';
    this.slider.setAttribute('aria-label', 'board revision');
    this.label.id = 'time-label';
    this.liveButton.id = 'time-live';
    this.status.id = 'time-status';
    this.slider.addEventListener('input', () => this.moved(false));
    this.slider.addEventListener('change', () => this.moved(true));
    this.liveButton.addEventListener('click', () => this.goLive());
    this.root.append(el('span', 'time-title', 'Time travel'), this.slider, this.label, this.liveButton, this.status);
    this.render();
  }

  /** The board's live revision moved on. */
  setLiveRev(rev: number): void {
    if (rev === this.liveRev) return;
    this.liveRev = rev;
    this.render();
  }

  /** Shows the board as of `rev` (from the slider, or a click on a history entry). */
  goto(rev: number): void {
    this.pending = null;
    if (rev >= this.liveRev) return this.goLive();
    this.pastRev = Math.max(0, rev);
    this.render();
    void this.fetch(this.pastRev);
  }

  goLive(): void {
    this.pending = null;
    this.loadSeq++;
    this.pastRev = null;
    setText(this.status, '');
    this.render();
    this.show(null);
  }

  reset(): void {
    this.liveRev = 0;
    this.goLive();
  }

  private moved(settled: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    const rev = Number(this.slider.value);
    this.pending = rev;
    if (settled) this.goto(rev);
    else this.timer = setTimeout(() => this.goto(rev), SETTLE_MS);
  }

  private async fetch(rev: number): Promise<void> {
    const seq = ++this.loadSeq;
    setText(this.status, `loading rev ${rev}…`);
    try {
      const past = await this.load(rev);
      if (seq !== this.loadSeq) return;
      const via = past.source === 'atRev' ? 'from history' : 'rebuilt from the change log';
      const gap = past.unknown > 0 ? `; ${count(past.unknown, 'key')} not known that far back` : '';
      setText(this.status, `${via}${gap}`);
      this.show(past);
    } catch (err) {
      if (seq !== this.loadSeq) return;
      const why = err instanceof BlackboardError ? `${err.code}: ${err.message}` : String(err);
      setText(this.status, `history unavailable (${why})`);
    }
  }

  private render(): void {
    const max = String(this.liveRev);
    if (this.slider.max !== max) this.slider.max = max;
    this.slider.disabled = this.liveRev === 0;
    const at = this.pending ?? this.pastRev ?? this.liveRev;
    if (this.slider.value !== String(at)) this.slider.value = String(at);
    this.root.classList.toggle('past', this.pastRev !== null);
    this.liveButton.disabled = this.pastRev === null;
    setText(this.label, this.pastRev === null ? `live · rev ${this.liveRev}` : `rev ${this.pastRev} of ${this.liveRev}`);
  }
}
