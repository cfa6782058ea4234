import { BlackboardError, type BlackboardClient } from '../../../sdk/index.js';
import { el, note, panel, setText } from '../dom.js';
import { count } from '../format.js';

const REFRESH_MS = 5_000;
const MAX_SHOWN = 200;
const BOARD_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The boards the caller may read (`boards` op), refreshed periodically; a click opens one. */
export class BoardsPanel {
  readonly root: HTMLElement;
  private readonly filterInput = el('input', 'filter');
  private readonly list = el('ul', 'boards');
  private readonly summary = el('span', 'summary');
  private selected: string | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private inFlight = false;

  constructor(
    private readonly client: BlackboardClient,
    private readonly onSelect: (board: string) => void,
  ) {
    const { root, head, body } = panel('boards-panel', 'Boards');
    this.root = root;
    head.append(this.summary);
    this.filterInput.id = 'board-filter';
    this.filterInput.type = 'search';
    this.filterInput.placeholder = 'filter, or a name + Enter';
    this.filterInput.addEventListener('input', () => void this.refresh());
    this.filterInput.addEventListener('keydown', (ev) => {
      const name = this.filterInput.value.trim();
      if (ev.key === 'Enter' && BOARD_NAME.test(name)) this.onSelect(name);
    });
    this.list.addEventListener('click', (ev) => {
      const item = (ev.target as Element | null)?.closest<HTMLElement>('li[data-board]');
      if (item?.dataset.board) this.onSelect(item.dataset.board);
    });
    body.append(this.filterInput, this.list);
  }

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.client.on('open', () => void this.refresh());
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  setSelected(board: string | null): void {
    this.selected = board;
    this.list.querySelectorAll<HTMLElement>('li[data-board]').forEach((item) => {
      item.classList.toggle('selected', item.dataset.board === board);
    });
  }

  private async refresh(): Promise<void> {
    if (this.inFlight || this.client.state !== 'connected') return;
    this.inFlight = true;
    const filter = this.filterInput.value.trim();
    try {
      const { boards } = await this.client.boards(BOARD_NAME.test(filter) ? filter : undefined);
      setText(this.summary, count(boards.length, 'board'));
      const items = boards.slice(0, MAX_SHOWN).map(({ board, rev }) => {
        const item = el('li', board === this.selected ? 'selected' : '');
        item.dataset.board = board;
        item.append(el('span', 'name', board), el('span', 'rev', `rev ${rev}`));
        return item;
      });
      if (boards.length > MAX_SHOWN) items.push(el('li', 'more', `and ${boards.length - MAX_SHOWN} more: filter to find them`));
      this.list.replaceChildren(...items);
      if (boards.length === 0) this.list.replaceChildren(note(filter ? 'No board starts with that.' : 'No boards yet.'));
    } catch (err) {
      const why = err instanceof BlackboardError ? err.code : String(err);
      this.list.replaceChildren(note(`Board list unavailable (${why}). Open one by name above.`));
    } finally {
      this.inFlight = false;
    }
  }
}
