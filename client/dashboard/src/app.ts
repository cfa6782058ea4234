import { BlackboardClient } from '../../sdk/index.js';
import { boardAt, type PastBoard } from './board-at.js';
import { BoardModel, type FrameChanges } from './board-model.js';
import { el, note, setText } from './dom.js';
import { FrameScheduler } from './frame.js';
import { AgentsPanel } from './panels/agents.js';
import { BoardsPanel } from './panels/boards.js';
import { EventLog } from './panels/event-log.js';
import { KeyDetail } from './panels/key-detail.js';
import { KeyTree, type TreeSource } from './panels/key-tree.js';
import { LocksPanel } from './panels/locks.js';
import { SearchPanel } from './panels/search.js';
import { ConnectionStatus } from './panels/status.js';
import { TasksPanel } from './panels/tasks.js';
import { ThreadsPanel } from './panels/threads.js';
import { TimeTravel } from './panels/time-travel.js';

/** Events of the past the log shows when a board is opened. */
const RECENT_EVENTS = 500;

interface DashboardOptions {
  /** Page URL: `?board=`, `?token=` (sent as the SDK `token`), `?agent=`, `?server=` (another server's URL). */
  pageUrl: URL;
}

function touches(changes: FrameChanges, prefix: string): boolean {
  if (changes.reset) return true;
  for (const key of changes.keys) if (key.startsWith(prefix)) return true;
  return false;
}

function liveSource(model: BoardModel): TreeSource {
  // A getter: the sorted key array is replaced, not only edited, when many keys change at once.
  return {
    get keys() {
      return model.keys.all;
    },
    entry: (key) => model.entry(key),
    pastRev: null,
  };
}

function pastSource(past: PastBoard): TreeSource {
  const keys = [...past.entries.keys()].sort();
  return { keys, entry: (key) => past.entries.get(key), pastRev: past.rev };
}

/** The whole page: one client, one board model at a time, and the panels drawing from it. */
export class Dashboard {
  private readonly client: BlackboardClient;
  private readonly scheduler = new FrameScheduler();
  private model: BoardModel | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly boardName = el('span', 'board-name');
  private readonly rev = el('span', 'rev');
  private readonly boards: BoardsPanel;
  private readonly tree: KeyTree;
  private readonly timeTravel: TimeTravel;
  private readonly detail: KeyDetail;
  private readonly events: EventLog;
  private readonly locks = new LocksPanel();
  private readonly tasks = new TasksPanel();
  private readonly agents = new AgentsPanel();
  private readonly threads = new ThreadsPanel((key) => this.selectKey(key));
  private readonly search: SearchPanel;
  private readonly recentLoaded = new WeakSet<BoardModel>();
  private readonly placeholder = note('Choose a board on the left, or type its name and press Enter.');

  constructor(root: HTMLElement, options: DashboardOptions) {
    const params = options.pageUrl.searchParams;
    const token = params.get('token');
    const agent = params.get('agent');
    this.client = new BlackboardClient({
      url: params.get('server') ?? options.pageUrl.origin,
      ...(token ? { token } : {}),
      ...(agent ? { agent } : {}),
      reconnect: { baseMs: 200, capMs: 3_000 },
      requestTimeoutMs: 15_000,
    });
    this.boards = new BoardsPanel(this.client, (board) => this.selectBoard(board));
    this.tree = new KeyTree(this.scheduler, (key) => this.selectKey(key));
    this.timeTravel = new TimeTravel(
      (rev) => (this.model ? boardAt(this.client, this.model, rev) : Promise.reject(new Error('no board'))),
      (past) => this.showPast(past),
    );
    this.tree.toolbar.append(this.timeTravel.root);
    this.detail = new KeyDetail(this.client, (rev) => this.timeTravel.goto(rev));
    this.events = new EventLog(this.scheduler, (key) => this.selectKey(key));
    this.search = new SearchPanel(this.client, (key, rev) => this.openAt(key, rev));
    this.layout(root);
    this.boards.start();
    setInterval(() => this.locks.tick(), 250);
    setInterval(() => this.agents.tick(), 1_000);
    void this.client.connect();
    const board = params.get('board');
    this.selectBoard(board && board.length > 0 ? board : null);
  }

  private layout(root: HTMLElement): void {
    this.rev.id = 'rev';
    this.boardName.id = 'board-name';
    const top = el('header', 'top');
    top.append(el('h1', '', 'Blackboard'), this.boardName, this.rev, new ConnectionStatus(this.client).root);
    const side = el('div', 'side');
    side.append(this.search.root, this.detail.root, this.threads.root, this.locks.root, this.tasks.root, this.agents.root);
    const main = el('main', 'layout');
    main.append(this.boards.root, this.tree.root, side, this.events.root);
    this.tree.root.append(this.placeholder);
    root.replaceChildren(top, main);
  }

  selectBoard(board: string | null): void {
    if (board !== null && board === this.model?.board) return;
    this.unsubscribe?.();
    this.model?.close();
    this.model =
      board === null
        ? null
        : new BoardModel(this.client, board, this.scheduler, (problem) => {
            if (problem !== null) setText(this.rev, `cannot read this board (${problem}); retrying`);
          });
    this.unsubscribe = this.model?.subscribe((changes) => this.onFrame(changes)) ?? null;
    const url = new URL(window.location.href);
    if (board === null) url.searchParams.delete('board');
    else url.searchParams.set('board', board);
    window.history.replaceState(null, '', url);
    document.title = board === null ? 'Blackboard' : `${board} · Blackboard`;
    this.placeholder.hidden = board !== null;
    setText(this.boardName, board ?? '');
    setText(this.rev, board === null ? '' : 'loading…');
    this.boards.setSelected(board);
    this.events.clear();
    this.timeTravel.reset();
    this.tree.setSource(this.model ? liveSource(this.model) : { keys: [], entry: () => undefined, pastRev: null });
    this.detail.setBoard(this.model);
    this.locks.setBoard(this.model);
    this.tasks.setBoard(this.model);
    this.agents.setBoard(this.model);
    this.threads.setBoard(this.model);
    this.search.setBoard(board);
  }

  private selectKey(key: string): void {
    this.tree.select(key);
    this.detail.select(key);
  }

  /** A search result: the board as of that revision (live when it is the latest), with its key selected. */
  private openAt(key: string, rev: number): void {
    this.timeTravel.goto(rev);
    this.selectKey(key);
  }

  private showPast(past: PastBoard | null): void {
    if (!this.model) return;
    this.tree.setSource(past ? pastSource(past) : liveSource(this.model));
  }

  /** The log starts with the board's latest events, so a page opened on a quiet board is not blank. */
  private async loadRecentEvents(model: BoardModel, rev: number): Promise<void> {
    if (rev === 0) return;
    try {
      const fromRev = Math.max(1, rev - RECENT_EVENTS + 1);
      const { events } = await this.client.history(model.board, { fromRev, toRev: rev, limit: RECENT_EVENTS });
      if (this.model === model) this.events.prepend(events);
    } catch {
      // Without history the log simply starts with the live events.
    }
  }

  /** Everything that changed since the last frame, drawn once. */
  private onFrame(changes: FrameChanges): void {
    const model = this.model;
    if (!model) return;
    if (changes.reset && !this.recentLoaded.has(model)) {
      this.recentLoaded.add(model);
      void this.loadRecentEvents(model, model.rev);
    }
    if (changes.reset && this.tree.pastRev === null) this.tree.setSource(liveSource(model));
    else this.tree.changed(changes.keys, changes.structure);
    this.events.add(changes.events, changes.skipped);
    this.detail.changed(changes);
    if (touches(changes, '$locks/')) this.locks.update();
    if (touches(changes, '$tasks/')) this.tasks.update();
    if (touches(changes, '$presence/')) this.agents.update();
    if (touches(changes, 'lg/')) this.threads.update();
    setText(this.rev, model.loaded ? `rev ${model.rev}` : 'loading…');
    this.timeTravel.setLiveRev(model.rev);
  }
}
