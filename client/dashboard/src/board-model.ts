import { BlackboardError, type BlackboardClient, type BoardEvent, type ReplicaEntry, type Watch, type WatchChange } from '../../sdk/index.js';
import type { FrameScheduler } from './frame.js';
import { SortedKeys } from './sorted-keys.js';

/**
 * `$` keys match only patterns that start with `$`, so the server's own keys (locks,
 * presence, tasks) are asked for by name next to `**`.
 */
const WATCH_PATTERNS = ['**', '$locks/**', '$presence/**', '$tasks/**'];
const SERVER_PREFIXES = ['$locks/', '$presence/', '$tasks/'];

/** Keys per `list` page while loading; a 100,000-key board arrives in pieces, not one frame. */
const LOAD_PAGE = 5_000;
/** Events held between two frames; a hidden tab gets no frames, so this bounds what piles up. */
const MAX_PENDING_EVENTS = 20_000;
const RETRY_MS = 1_000;
const MAX_RETRY_MS = 10_000;

/** What changed since the previous frame, handed to every panel at once. */
export interface FrameChanges {
  /** All keys were (re)loaded: the first load, or a re-snapshot after COMPACTED/EPOCH_CHANGED. */
  reset: boolean;
  /** Keys written or deleted. */
  keys: ReadonlySet<string>;
  /** Keys appeared or disappeared (the tree's shape changed). */
  structure: boolean;
  /** New events, oldest first. */
  events: readonly BoardEvent[];
  /** Events dropped before reaching the page's log because too many arrived between frames. */
  skipped: number;
}

type ModelListener = (changes: FrameChanges) => void;

function watched(key: string): boolean {
  return !key.startsWith('$') || SERVER_PREFIXES.some((p) => key.startsWith(p));
}

/**
 * One board as the page sees it. It is read in `list` pages, then kept current by an SDK
 * watch starting at the revision after the first page (the watch resumes after
 * reconnects without gap or duplicate; events already covered by a later page are
 * applied again in order, which converges on the same state). Changes are collected as
 * they arrive and handed out once per animation frame.
 */
export class BoardModel {
  readonly keys = new SortedKeys();
  private entries = new Map<string, ReplicaEntry<unknown>>();
  private watch: Watch | null = null;
  private readonly listeners = new Set<ModelListener>();
  private touched = new Set<string>();
  private events: BoardEvent[] = [];
  private skipped = 0;
  private resetPending = false;
  private closed = false;
  private readonly flushNow = () => this.flush();
  /** Highest revision applied. */
  private appliedRev = 0;
  /** Revision the page has drawn (may trail `appliedRev` until the next frame). */
  rev = 0;
  /** Set once the first full load is in. */
  loaded = false;

  constructor(
    private readonly client: BlackboardClient,
    readonly board: string,
    private readonly scheduler: FrameScheduler,
    /** Told why the board cannot be read (null once it can), so the page can say so. */
    private readonly onProblem: (problem: string | null) => void = () => undefined,
  ) {
    void this.load();
  }

  entry(key: string): ReplicaEntry<unknown> | undefined {
    return this.entries.get(key);
  }

  subscribe(listener: ModelListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    this.watch?.close();
    this.listeners.clear();
  }

  private async load(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const entries = new Map<string, ReplicaEntry<unknown>>();
        let firstRev: number | null = null;
        let after: string | undefined;
        for (;;) {
          const page = await this.client.list(this.board, '', { limit: LOAD_PAGE, ...(after === undefined ? {} : { after }) });
          if (this.closed) return;
          firstRev ??= page.rev;
          for (const { key, value, version, createRev, modRev } of page.items) {
            if (watched(key)) entries.set(key, { value, version, createRev, modRev });
          }
          const last = page.items[page.items.length - 1];
          if (!page.more || !last) break;
          after = last.key;
        }
        this.entries = entries;
        this.appliedRev = firstRev ?? 0;
        this.resetPending = true;
        this.watch = this.client.watch(this.board, WATCH_PATTERNS, (change) => this.onChange(change), {
          fromRev: this.appliedRev + 1,
        });
        // Given fromRev, a watch still counts its revision from 0, and it resumes after a
        // reconnect from that count + 1: tell it how far the loaded state already reaches.
        this.watch.rev = Math.max(this.watch.rev, this.appliedRev);
        this.scheduler.schedule(this.flushNow);
        this.onProblem(null);
        return;
      } catch (err) {
        // Reads already wait out reconnects in the SDK; this is an error the server returned.
        if (this.closed) return;
        this.onProblem(err instanceof BlackboardError ? `${err.code}: ${err.message}` : String(err));
        await new Promise((r) => setTimeout(r, Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** attempt)));
      }
    }
  }

  private onChange(change: WatchChange<unknown>): void {
    if (this.closed) return;
    if (change.type === 'reset') {
      // The watch had to start over from a snapshot: its replica is the whole board now.
      this.entries = new Map(this.watch?.replica ?? []);
      this.appliedRev = change.rev;
      this.resetPending = true;
      this.touched.clear();
    } else if (change.type === 'event') {
      this.apply(change.event);
    } else if (change.rev > this.appliedRev) {
      this.appliedRev = change.rev;
    }
    this.scheduler.schedule(this.flushNow);
  }

  private apply(event: BoardEvent): void {
    if (event.type === 'delete') this.entries.delete(event.key);
    else {
      const previous = this.entries.get(event.key);
      this.entries.set(event.key, {
        value: event.value,
        version: event.version,
        createRev: previous && event.version > 1 ? previous.createRev : event.rev,
        modRev: event.rev,
      });
    }
    if (event.rev > this.appliedRev) this.appliedRev = event.rev;
    this.touched.add(event.key);
    this.events.push(event);
    if (this.events.length > MAX_PENDING_EVENTS) {
      const drop = this.events.length - MAX_PENDING_EVENTS;
      this.events.splice(0, drop);
      this.skipped += drop;
    }
  }

  private flush(): void {
    if (this.closed) return;
    const reset = this.resetPending;
    let structure = reset;
    if (reset) {
      this.keys.replace(this.entries.keys());
      this.loaded = true;
    } else {
      const added: string[] = [];
      const removed: string[] = [];
      for (const key of this.touched) {
        const exists = this.entries.has(key);
        if (exists && !this.keys.has(key)) added.push(key);
        else if (!exists && this.keys.has(key)) removed.push(key);
      }
      if (added.length + removed.length > 0) {
        this.keys.update(added, removed);
        structure = true;
      }
    }
    const changes: FrameChanges = { reset, keys: this.touched, structure, events: this.events, skipped: this.skipped };
    this.resetPending = false;
    this.touched = new Set();
    this.events = [];
    this.skipped = 0;
    this.rev = this.appliedRev;
    if (!this.loaded) return;
    for (const listener of this.listeners) listener(changes);
  }
}
