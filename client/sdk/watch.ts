import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { BoardEvent, KeyRecord, SubscribeResult } from '../../shared/protocol/types.js';
import type { ClientCore } from './requester.js';

export interface ReplicaEntry<V> {
  value: V;
  version: number;
  createRev: number;
  modRev: number;
}

export type WatchChange<V> =
  | { type: 'event'; event: BoardEvent<V>; rev: number }
  | { type: 'reset'; rev: number; epoch: string }
  | { type: 'progress'; rev: number };

export interface WatchOptions {
  /** Resume from this revision instead of starting with a snapshot. */
  fromRev?: number;
}

/**
 * A local replica of the keys matching some patterns. Starts from a snapshot, applies
 * events in revision order, and after a reconnect resumes with `fromRev` = last seen + 1
 * (re-snapshotting if the server says COMPACTED or EPOCH_CHANGED).
 */
export class Watch<V = unknown> {
  readonly replica = new Map<string, ReplicaEntry<V>>();
  /** Every matching revision up to this one has been applied. */
  rev = 0;
  epoch = '';
  closed = false;
  private sub: string | null = null;
  /** A snapshot's parts are still arriving: the replica is not whole yet. */
  private snapshotting = false;
  private readonly readyPromise: Promise<void>;
  private resolveReady!: () => void;
  private readonly onOpen = () => void this.resume();

  constructor(
    private readonly client: ClientCore,
    readonly board: string,
    readonly patterns: string[],
    private readonly onChange: ((change: WatchChange<V>) => void) | undefined,
    private readonly options: WatchOptions,
  ) {
    this.readyPromise = new Promise((resolve) => (this.resolveReady = resolve));
    // Resuming from fromRev: everything before it counts as seen, so a reconnect resumes there.
    if (options.fromRev !== undefined) this.rev = Math.max(0, options.fromRev - 1);
  }

  /** Resolves once the replica holds the snapshot (or the resume point was accepted). */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  start(): void {
    this.client.on('open', this.onOpen);
    if (this.client.state === 'connected') void this.resume();
  }

  close(): void {
    this.closed = true;
    this.client.off('open', this.onOpen);
    if (this.sub) void this.client.unsubscribe(this.sub).catch(() => undefined);
  }

  private async resume(): Promise<void> {
    if (this.closed) return;
    this.sub = null;
    // A snapshot cut off before its last part is taken again rather than resumed.
    const resuming = !this.snapshotting && (this.epoch !== '' || this.options.fromRev !== undefined);
    try {
      if (resuming) {
        const fromRev = this.rev + 1;
        const args = { board: this.board, patterns: this.patterns, fromRev, ...(this.epoch ? { epoch: this.epoch } : {}) };
        const result = await this.client.subscribe(args, this.handlers());
        this.accept(result);
      } else {
        await this.snapshot();
      }
    } catch (err) {
      if (err instanceof BlackboardError && (err.code === ErrorCode.COMPACTED || err.code === ErrorCode.EPOCH_CHANGED)) {
        await this.snapshot().catch(() => undefined);
      }
      // Anything else (the socket went again) is retried by the next 'open'.
    }
  }

  private async snapshot(): Promise<void> {
    const result = await this.client.subscribe({ board: this.board, patterns: this.patterns, snapshot: true }, this.handlers());
    this.replica.clear();
    this.hold((result.snapshot ?? []) as KeyRecord<V>[]);
    this.rev = result.rev;
    this.epoch = result.epoch;
    // A snapshot too large for one reply goes on in `snapshot` pushes, all before any event.
    this.snapshotting = result.more === true;
    this.accept(result);
    if (!this.snapshotting) this.onChange?.({ type: 'reset', rev: result.rev, epoch: result.epoch });
  }

  private hold(items: KeyRecord<V>[]): void {
    for (const item of items) {
      this.replica.set(item.key, { value: item.value, version: item.version, createRev: item.createRev, modRev: item.modRev });
    }
  }

  private accept(result: SubscribeResult): void {
    this.sub = result.sub;
    this.epoch = result.epoch;
    if (this.closed) void this.client.unsubscribe(result.sub).catch(() => undefined);
    if (!this.snapshotting) this.resolveReady();
  }

  private handlers() {
    return {
      snapshot: (items: KeyRecord[], more: boolean) => {
        this.hold(items as KeyRecord<V>[]);
        if (more) return;
        this.snapshotting = false;
        this.resolveReady();
        this.onChange?.({ type: 'reset', rev: this.rev, epoch: this.epoch });
      },
      events: (events: BoardEvent[]) => this.apply(events as BoardEvent<V>[]),
      progress: (rev: number) => {
        if (rev > this.rev) this.rev = rev;
        this.onChange?.({ type: 'progress', rev });
      },
    };
  }

  private apply(events: BoardEvent<V>[]): void {
    let highest = this.rev;
    for (const event of events) {
      // A revision already applied (a resume overlapping what was seen) is skipped.
      if (event.rev <= this.rev) continue;
      if (event.type === 'delete') this.replica.delete(event.key);
      else {
        const previous = this.replica.get(event.key);
        this.replica.set(event.key, {
          value: event.value as V,
          version: event.version,
          createRev: previous && event.version > 1 ? previous.createRev : event.rev,
          modRev: event.rev,
        });
      }
      if (event.rev > highest) highest = event.rev;
      this.onChange?.({ type: 'event', event, rev: event.rev });
    }
    this.rev = highest;
  }

  /** The replica as a plain object: key → value. */
  values(): Record<string, V> {
    return Object.fromEntries([...this.replica].map(([k, e]) => [k, e.value]));
  }
}
