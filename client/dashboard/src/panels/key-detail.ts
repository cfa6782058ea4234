import { BlackboardError, type BlackboardClient, type BoardEvent } from '../../../sdk/index.js';
import type { BoardModel, FrameChanges } from '../board-model.js';
import { el, note, panel, setText } from '../dom.js';
import { clockTime, preview, pretty } from '../format.js';

/** History entries shown for one key (the newest); pages read to find them are bounded too. */
const MAX_SHOWN = 200;
const PAGE = 1_000;
const MAX_PAGES = 5;

/** The selected key: its live value and metadata, and its history; a click on an entry travels there. */
export class KeyDetail {
  readonly root: HTMLElement;
  private readonly title = el('div', 'detail-key');
  private readonly meta = el('div', 'detail-meta');
  private readonly value = el('pre', 'detail-value');
  private readonly historyNote = el('div', 'detail-history-note');
  private readonly historyList = el('ol', 'history');
  private model: BoardModel | null = null;
  private key: string | null = null;
  private events: BoardEvent[] = [];
  private loadSeq = 0;
  /** Live events of the key that came while its history was loading, merged in afterwards. */
  private early: BoardEvent[] = [];
  private loading = false;

  constructor(
    private readonly client: BlackboardClient,
    private readonly onTravel: (rev: number) => void,
  ) {
    const { root, body } = panel('detail', 'Key history');
    this.root = root;
    this.historyList.addEventListener('click', (ev) => {
      const item = (ev.target as Element | null)?.closest<HTMLElement>('li[data-rev]');
      if (item) this.onTravel(Number(item.dataset.rev));
    });
    body.append(this.title, this.meta, this.value, this.historyNote, this.historyList);
    this.select(null);
  }

  setBoard(model: BoardModel | null): void {
    this.model = model;
    this.select(null);
  }

  get selected(): string | null {
    return this.key;
  }

  select(key: string | null): void {
    this.key = key;
    this.events = [];
    this.early = [];
    this.historyList.replaceChildren();
    if (key === null || !this.model) {
      setText(this.title, '');
      setText(this.meta, '');
      this.value.replaceChildren(note('Select a key to see its value and history.'));
      setText(this.historyNote, '');
      return;
    }
    setText(this.title, key);
    this.showValue();
    void this.loadHistory(this.model, key);
  }

  changed(changes: FrameChanges): void {
    const key = this.key;
    if (key === null || (!changes.keys.has(key) && !changes.reset)) return;
    this.showValue();
    const mine = changes.events.filter((e) => e.key === key);
    if (mine.length === 0) return;
    if (this.loading) this.early.push(...mine);
    else this.append(mine);
  }

  private showValue(): void {
    const entry = this.key === null ? undefined : this.model?.entry(this.key);
    if (!entry) {
      setText(this.meta, 'not on the board now (deleted, or not yet written)');
      this.value.replaceChildren();
      return;
    }
    setText(this.meta, `version ${entry.version} · created at rev ${entry.createRev} · modified at rev ${entry.modRev}`);
    setText(this.value, pretty(entry.value));
  }

  private async loadHistory(model: BoardModel, key: string): Promise<void> {
    const seq = ++this.loadSeq;
    this.loading = true;
    setText(this.historyNote, 'loading history…');
    const found: BoardEvent[] = [];
    let more = false;
    try {
      let fromRev = 1;
      for (let page = 0; page < MAX_PAGES; page++) {
        const result = await this.client.history(model.board, { key, fromRev, limit: PAGE });
        if (seq !== this.loadSeq) return;
        found.push(...result.events);
        if (found.length > MAX_SHOWN) found.splice(0, found.length - MAX_SHOWN);
        const last = result.events[result.events.length - 1];
        more = result.more;
        if (!result.more || !last) break;
        fromRev = last.rev + 1;
      }
    } catch (err) {
      if (seq !== this.loadSeq) return;
      this.loading = false;
      const why = err instanceof BlackboardError ? err.code : String(err);
      setText(this.historyNote, `history unavailable (${why}); showing changes seen since`);
      this.append(this.early.splice(0));
      return;
    }
    this.loading = false;
    setText(this.historyNote, more ? `latest changes (older ones not loaded)` : '');
    this.events = [];
    this.append([...found, ...this.early.splice(0)]);
  }

  private append(events: BoardEvent[]): void {
    const known = new Set(this.events.map((e) => e.rev));
    const fresh = events.filter((e) => !known.has(e.rev));
    if (fresh.length === 0 && this.events.length > 0) return;
    this.events.push(...fresh);
    this.events.sort((a, b) => a.rev - b.rev);
    if (this.events.length > MAX_SHOWN) this.events.splice(0, this.events.length - MAX_SHOWN);
    if (this.events.length === 0) {
      this.historyList.replaceChildren(note('No history retained for this key.'));
      return;
    }
    // Newest first; a short list, so it is simply redrawn.
    this.historyList.replaceChildren(
      ...[...this.events].reverse().map((e) => {
        const item = el('li', `hist ${e.type}`);
        item.dataset.rev = String(e.rev);
        item.title = 'show the board as of this revision';
        item.append(
          el('span', 'rev', `#${e.rev}`),
          el('span', 'ts', clockTime(e.ts)),
          el('span', 'actor', e.actor),
          el('span', 'value', e.type === 'put' ? preview(e.value, 120) : 'deleted'),
        );
        return item;
      }),
    );
  }
}
