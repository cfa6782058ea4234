import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { BoardEvent, SubscribeResult } from '../../shared/protocol/types.js';
import type { ApiProvider, BoardApi } from './board-api.js';
import { parseResourceUri } from './resource-uri.js';

/** Sends `notifications/resources/updated` for `uri`, which changed at board revision `rev`. */
type Notify = (uri: string, board: string, rev: number) => Promise<void>;

/** What survives the session moving to another node: the URIs and, per board, the last revision notified. */
export interface FeedState {
  uris: string[];
  cursors: Record<string, number>;
}

interface BoardWatch {
  board: string;
  /** key → the URIs (as the client spelled them) subscribed to it. */
  keys: Map<string, Set<string>>;
  /** URIs of the board's index, notified on any change of an ordinary key. */
  index: Set<string>;
  /** The live subscription; events of any other (an old one being replaced) are ignored. */
  sub: string | null;
  patterns: string[];
  /** Every matching event up to this revision has been handled. */
  cursor: number | null;
  /** Serializes (re)subscriptions of this board. */
  chain: Promise<void>;
}

/** Ordinary keys: `**`; `$` keys (locks, presence, tasks) only once one is watched, as they change often. */
function patternsFor(w: BoardWatch): string[] {
  return [...w.keys.keys()].some((k) => k.startsWith('$')) ? ['**', '$*/**'] : ['**'];
}

/**
 * Resource subscriptions of one MCP session: one board subscription per board however
 * many of its keys are watched, filtered here. Revisions only grow, and a subscription
 * replaced (patterns changed, connection lost) resumes at the cursor with `fromRev`, so no
 * change is missed; where history no longer reaches that far, every watched URI of the
 * board is notified, since any of them may have changed.
 */
export class ResourceFeed {
  private readonly boards = new Map<string, BoardWatch>();
  private attached: BoardApi | null = null;
  private lost = false;
  private closed = false;
  private readonly pending = new Map<string, { board: string; rev: number }>();
  private draining = false;

  constructor(
    private readonly provider: ApiProvider,
    private readonly notify: Notify,
    private readonly maxUris = 1_000,
  ) {}

  get uriCount(): number {
    let n = 0;
    for (const w of this.boards.values()) n += w.index.size + [...w.keys.values()].reduce((s, u) => s + u.size, 0);
    return n;
  }

  state(): FeedState {
    const uris: string[] = [];
    const cursors: Record<string, number> = {};
    for (const w of this.boards.values()) {
      uris.push(...w.index);
      for (const set of w.keys.values()) uris.push(...set);
      if (w.cursor !== null) cursors[w.board] = w.cursor;
    }
    return { uris, cursors };
  }

  /**
   * Resumes the subscriptions of a session that moved here. A board that can no longer be
   * subscribed (the credential lost its scope, say) is dropped rather than failing the whole
   * session; returns the URIs dropped.
   */
  async restore(state: FeedState): Promise<string[]> {
    for (const uri of state.uris) {
      const ref = parseResourceUri(uri);
      if (!ref) continue;
      const w = this.watch(ref.board);
      if (w.cursor === null && state.cursors[ref.board] !== undefined) w.cursor = state.cursors[ref.board]!;
      this.add(w, ref.key, uri);
    }
    const watches = [...this.boards.values()];
    const outcomes = await Promise.allSettled(watches.map((w) => this.resync(w)));
    const dropped: string[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') return;
      const w = watches[i]!;
      dropped.push(...w.index, ...[...w.keys.values()].flatMap((set) => [...set]));
      this.boards.delete(w.board);
    });
    return dropped;
  }

  async subscribe(uri: string): Promise<void> {
    const ref = parseResourceUri(uri);
    if (!ref)
      throw new BlackboardError(
        ErrorCode.BAD_REQUEST,
        `not a Blackboard resource: ${uri.slice(0, 200)} (expected blackboard://<board> or blackboard://<board>/<key>)`,
        { uri: uri.slice(0, 200) },
      );
    if (this.uriCount >= this.maxUris)
      throw new BlackboardError(ErrorCode.TOO_LARGE, `at most ${this.maxUris} resource subscriptions per session`, { limit: this.maxUris });
    const fresh = !this.boards.has(ref.board);
    const w = this.watch(ref.board);
    this.add(w, ref.key, uri);
    try {
      if (fresh || patternsFor(w).join() !== w.patterns.join()) await this.resync(w);
    } catch (err) {
      this.remove(w, ref.key, uri);
      if (fresh) this.boards.delete(ref.board);
      throw err;
    }
  }

  async unsubscribe(uri: string): Promise<void> {
    const ref = parseResourceUri(uri);
    const w = ref ? this.boards.get(ref.board) : undefined;
    if (!ref || !w) return;
    this.remove(w, ref.key, uri);
    if (w.index.size > 0 || w.keys.size > 0) return;
    this.boards.delete(ref.board);
    const sub = w.sub;
    w.sub = null;
    if (sub !== null && this.attached) await this.attached.request('unsubscribe', { sub }).catch(() => undefined);
  }

  close(): void {
    this.closed = true;
    if (this.attached) {
      this.attached.off('push', this.onPush);
      this.attached.off('open', this.onOpen);
      this.attached.off('close', this.onClose);
    }
  }

  private watch(board: string): BoardWatch {
    let w = this.boards.get(board);
    if (!w) {
      w = { board, keys: new Map(), index: new Set(), sub: null, patterns: [], cursor: null, chain: Promise.resolve() };
      this.boards.set(board, w);
    }
    return w;
  }

  private add(w: BoardWatch, key: string | null, uri: string): void {
    if (key === null) return void w.index.add(uri);
    let set = w.keys.get(key);
    if (!set) w.keys.set(key, (set = new Set()));
    set.add(uri);
  }

  private remove(w: BoardWatch, key: string | null, uri: string): void {
    if (key === null) return void w.index.delete(uri);
    const set = w.keys.get(key);
    set?.delete(uri);
    if (set && set.size === 0) w.keys.delete(key);
  }

  private attach(api: BoardApi): void {
    if (this.attached === api) return;
    this.attached = api;
    api.on('push', this.onPush);
    api.on('open', this.onOpen);
    api.on('close', this.onClose);
  }

  private readonly onClose = () => {
    this.lost = true;
    for (const w of this.boards.values()) w.sub = null;
  };

  /** Subscriptions end with their socket: resume each board where it stopped. */
  private readonly onOpen = () => {
    if (!this.lost || this.closed) return;
    this.lost = false;
    for (const w of this.boards.values()) void this.resync(w).catch(() => undefined);
  };

  private resync(w: BoardWatch): Promise<void> {
    const run = w.chain.then(() => this.subscribeBoard(w));
    w.chain = run.catch(() => undefined);
    return run;
  }

  private async subscribeBoard(w: BoardWatch): Promise<void> {
    if (this.closed || this.boards.get(w.board) !== w) return;
    const api = await this.provider();
    this.attach(api);
    const old = w.sub;
    // From here the old subscription's events are ignored; the new one resumes after the cursor.
    w.sub = null;
    const patterns = patternsFor(w);
    const take = (r: unknown) => {
      w.sub = (r as SubscribeResult).sub;
      w.patterns = patterns;
      if (w.cursor === null) w.cursor = (r as SubscribeResult).rev;
    };
    try {
      await api.request('subscribe', { board: w.board, patterns, ...(w.cursor === null ? {} : { fromRev: w.cursor + 1 }) }, take);
    } catch (err) {
      const gone = err instanceof BlackboardError && (err.code === ErrorCode.COMPACTED || err.code === ErrorCode.EPOCH_CHANGED);
      if (!gone) throw err;
      w.cursor = null;
      await api.request('subscribe', { board: w.board, patterns }, take);
      this.enqueueNotify(w, [...w.index, ...[...w.keys.values()].flatMap((s) => [...s])], w.cursor ?? 0);
    }
    if (old !== null && old !== w.sub) await api.request('unsubscribe', { sub: old }).catch(() => undefined);
  }

  private readonly onPush = (message: unknown) => {
    const m = message as { push?: string; sub?: unknown; events?: BoardEvent[]; rev?: unknown };
    if (m.push !== 'events' && m.push !== 'progress') return;
    for (const w of this.boards.values()) {
      if (w.sub === null || w.sub !== m.sub) continue;
      if (m.push === 'progress') {
        if (typeof m.rev === 'number' && w.cursor !== null && m.rev > w.cursor) w.cursor = m.rev;
        return;
      }
      this.onEvents(w, m.events ?? []);
      return;
    }
  };

  private onEvents(w: BoardWatch, events: BoardEvent[]): void {
    const changed = new Map<string, number>();
    let top = w.cursor ?? 0;
    for (const e of events) {
      if (w.cursor !== null && e.rev <= w.cursor) continue;
      top = Math.max(top, e.rev);
      for (const uri of w.keys.get(e.key) ?? []) changed.set(uri, e.rev);
      if (!e.key.startsWith('$')) for (const uri of w.index) changed.set(uri, e.rev);
    }
    if (w.cursor === null || top > w.cursor) w.cursor = top;
    for (const [uri, rev] of changed) this.enqueueNotify(w, [uri], rev);
  }

  /**
   * Notifications go out one at a time. A URI already waiting to be notified is not queued
   * again (its revision is raised): the queue is bounded by the number of URIs, however
   * fast the board changes.
   */
  private enqueueNotify(w: BoardWatch, uris: string[], rev: number): void {
    for (const uri of uris) this.pending.set(uri, { board: w.board, rev });
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.pending.size > 0 && !this.closed) {
        const [uri, at] = this.pending.entries().next().value as [string, { board: string; rev: number }];
        this.pending.delete(uri);
        await this.notify(uri, at.board, at.rev).catch(() => undefined);
      }
    } finally {
      this.draining = false;
    }
  }
}
