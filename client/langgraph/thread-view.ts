import type { ChannelVersion } from './versions.js';
import type { HeadRecord, KeptCheckpoint } from './records.js';
import type { StoredValue } from './stored-value.js';

/** What a saver knows of one channel of a thread's head. */
export interface KnownChannel {
  version: ChannelVersion;
  /** The stored value at that version; undefined: the channel has no value at that version. */
  stored: StoredValue | undefined;
  /** Size of `stored` as JSON, once measured. */
  bytes?: number;
}

/**
 * The head of one (thread, namespace) as this saver last read or wrote it. A put commits
 * only if the head's board version is still `version`: a writer cannot advance a thread
 * past a head it has not seen (the fencing of concurrent resumes).
 */
export interface ThreadView {
  /** Board version of the head key (0: no head). */
  version: number;
  checkpointId: string | undefined;
  /** Channels whose value at the head's version this saver holds (no need to read or encode them again). */
  known: Map<string, KnownChannel>;
  kept: KeptCheckpoint[];
  blobs: Record<string, Record<string, string>>;
}

function emptyView(): ThreadView {
  return { version: 0, checkpointId: undefined, known: new Map(), kept: [], blobs: {} };
}

/** The view a read of the head gives (`head` undefined: the thread has no checkpoint). */
export function viewOfHead(version: number, head: HeadRecord | undefined): ThreadView {
  if (!head) return emptyView();
  const known = new Map<string, KnownChannel>();
  for (const [channel, version] of Object.entries(head.checkpoint.channel_versions)) {
    if (channel in head.refs) continue;
    known.set(channel, { version, stored: head.values[channel] });
  }
  return { version, checkpointId: head.checkpoint.id, known, kept: head.kept ?? [], blobs: head.blobs ?? {} };
}

/** Views by head key, the least recently used dropped past `capacity`. */
export class ThreadViews {
  private readonly views = new Map<string, ThreadView>();

  constructor(private readonly capacity = 1_000) {}

  get(headKey: string): ThreadView | undefined {
    const view = this.views.get(headKey);
    if (view) {
      this.views.delete(headKey);
      this.views.set(headKey, view);
    }
    return view;
  }

  set(headKey: string, view: ThreadView): void {
    this.views.delete(headKey);
    this.views.set(headKey, view);
    while (this.views.size > this.capacity) this.views.delete(this.views.keys().next().value!);
  }

  /** Keeps the newer of two reads (a slow read must not replace what a later put wrote). */
  offer(headKey: string, view: ThreadView): void {
    const current = this.views.get(headKey);
    if (!current || current.version <= view.version) this.set(headKey, view);
  }

  deleteWhere(predicate: (headKey: string) => boolean): void {
    for (const key of [...this.views.keys()]) if (predicate(key)) this.views.delete(key);
  }
}
