import { BlackboardError, type BlackboardClient, type SearchResult } from '../../../sdk/index.js';
import { el, note, panel, setText } from '../dom.js';

type Item = SearchResult['items'][number];
type Highlight = Item['highlights'][number];

const LIMIT = 20;

/** A highlight's text with its matched words in <mark>, built as nodes (never as HTML). */
function markedText(h: Highlight): HTMLElement {
  const line = el('div', 'search-hl');
  if (h.path !== '') line.append(el('span', 'search-path', h.path));
  let at = 0;
  for (const [start = 0, end = 0] of h.marks) {
    if (start < at || end > h.text.length) continue;
    line.append(document.createTextNode(h.text.slice(at, start)), el('mark', '', h.text.slice(start, end)));
    at = end;
  }
  line.append(document.createTextNode(h.text.slice(at)));
  return line;
}

/**
 * A search box over the open board: best matches first, with their matched words marked.
 * A click on a result opens its key at that result's revision (the live board when it is
 * the current value). "History" searches every past value as well.
 */
export class SearchPanel {
  readonly root: HTMLElement;
  private readonly input = el('input', 'search-input');
  private readonly historyBox = el('input');
  private readonly status = el('div', 'search-status');
  private readonly list = el('ol', 'search-results');
  private readonly moreButton = el('button', 'search-more', 'More');
  private board: string | null = null;
  private query = '';
  private next: string | undefined;
  private seq = 0;

  constructor(
    private readonly client: BlackboardClient,
    private readonly open: (key: string, rev: number) => void,
  ) {
    const { root, head, body } = panel('search', 'Search');
    this.root = root;
    this.input.id = 'search-input';
    this.input.type = 'search';
    this.input.placeholder = 'words, "a phrase", -not';
    this.input.setAttribute('aria-label', 'search the board');
    this.historyBox.id = 'search-history';
    this.historyBox.type = 'checkbox';
    const historyLabel = el('label', 'search-history-label');
    historyLabel.append(this.historyBox, document.createTextNode(' history'));
    this.status.id = 'search-status';
    this.moreButton.id = 'search-more';
    this.moreButton.hidden = true;
    const form = el('form', 'search-form');
    form.append(this.input, historyLabel);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.run(false);
    });
    this.historyBox.addEventListener('change', () => void this.run(false));
    this.moreButton.addEventListener('click', () => void this.run(true));
    this.list.addEventListener('click', (ev) => {
      const item = (ev.target as Element | null)?.closest<HTMLElement>('li[data-key]');
      if (item) this.open(item.dataset.key!, Number(item.dataset.rev));
    });
    head.append(form);
    body.append(this.status, this.list, this.moreButton);
    this.setBoard(null);
  }

  setBoard(board: string | null): void {
    this.board = board;
    this.seq++;
    this.next = undefined;
    this.input.disabled = board === null;
    this.list.replaceChildren();
    this.moreButton.hidden = true;
    setText(this.status, '');
  }

  private async run(more: boolean): Promise<void> {
    const board = this.board;
    if (board === null) return;
    if (!more) this.query = this.input.value.trim();
    if (this.query === '') return this.setBoard(board);
    const seq = ++this.seq;
    setText(this.status, 'searching…');
    try {
      const result = await this.client.search(board, this.query, {
        limit: LIMIT,
        ...(this.historyBox.checked ? { history: true } : {}),
        ...(more && this.next !== undefined ? { after: this.next } : {}),
      });
      if (seq !== this.seq) return;
      this.next = result.more ? result.next : undefined;
      this.moreButton.hidden = this.next === undefined;
      const rows = result.items.map((item) => this.row(item));
      if (more) this.list.append(...rows);
      else this.list.replaceChildren(...rows);
      const shown = this.list.childElementCount;
      const close = result.fuzzy ? ' (no exact match: close words)' : '';
      setText(this.status, shown === 0 ? 'no match' : `${shown}${result.more ? '+' : ''} found at rev ${result.rev}${close}`);
    } catch (err) {
      if (seq !== this.seq) return;
      const why = err instanceof BlackboardError ? `${err.code}: ${err.message}` : String(err);
      this.list.replaceChildren(note(`search unavailable (${why})`));
      setText(this.status, '');
    }
  }

  private row(item: Item): HTMLElement {
    const li = el('li', 'search-item');
    li.dataset.key = item.key;
    li.dataset.rev = String(item.rev);
    li.title = `open ${item.key} as of rev ${item.rev}`;
    const head = el('div', 'search-head');
    head.append(el('span', 'search-key', item.key), el('span', 'rev', `#${item.rev}`));
    li.append(head, ...item.highlights.map(markedText));
    return li;
  }
}
