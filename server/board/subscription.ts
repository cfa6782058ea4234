import { compilePatterns, type KeyMatcher } from '../../shared/protocol/globs.js';
import { parseJson, stringifyJson } from '../../shared/protocol/json.js';
import type { Revision } from './revision.js';

/** Where a subscription's events go: the connection that owns it. */
export interface EventSink {
  /** The agent the subscriptions belong to (subscriptions count against its share). */
  readonly agentId: string;
  /** Queues the events of revision `rev` that this subscription delivers, as a JSON fragment. */
  queueEvents(sub: Subscription, fragment: string, rev: number): void;
  /** The subscriber fell behind beyond what can be replayed here: drop the connection. */
  dropSlow(reason: string): void;
}

/** Keys a subscriber may read; `id` names the filter, equal ids meaning equal filters. */
export interface KeyFilter {
  id: string;
  test: KeyMatcher;
}

const REPLAY_BUFFER_LIMIT = 10_000;
const PATTERN_SET_LIMIT = 100_000;
const patternSets = new Map<string, { id: string; matcher: KeyMatcher }>();
let patternSetCounter = 0;

/**
 * Subscribers with the same patterns share one compiled matcher and one filtered event
 * list per revision, so 10,000 subscribers of `**` cost one matcher, not 10,000.
 */
function internPatternSet(patterns: readonly string[], readable?: KeyFilter): { id: string; matcher: KeyMatcher } {
  // The reader's filter is part of the set: subscribers share event lists only with equal rights.
  const key = [...new Set(patterns)].sort().join('\n') + (readable ? `\n\u0000${readable.id}` : '');
  let entry = patternSets.get(key);
  if (entry === undefined) {
    if (patternSets.size >= PATTERN_SET_LIMIT) patternSets.clear();
    const matcher = compilePatterns(patterns);
    // The read scope first: keys the subscriber cannot read never cost a pattern match.
    entry = { id: String(patternSetCounter++), matcher: readable ? (k) => readable.test(k) && matcher(k) : matcher };
    patternSets.set(key, entry);
  }
  return entry;
}

/**
 * One subscription: a cursor (`nextRev`) over the board's revisions that forwards the
 * matching events in order, once each. While a replay runs, live revisions wait in a
 * bounded buffer; the cursor makes replay and live overlap harmless.
 */
export class Subscription {
  readonly matcher: KeyMatcher;
  readonly patternSetId: string;
  /** Value-mode events depend only on the pattern set and revision: frames can be shared. */
  readonly shareable: boolean;
  nextRev = 1;
  live = false;
  lastSentAt = Date.now();
  closed = false;
  private buffer: Revision[] = [];
  private overflowed = false;
  /** mode "patch": the version of each key this subscriber holds. */
  private readonly heldVersions: Map<string, number> | null;

  constructor(
    readonly id: string,
    readonly board: string,
    readonly patterns: readonly string[],
    readonly mode: 'value' | 'patch',
    readonly sink: EventSink,
    /** Narrows delivery (snapshots included) to what the subscriber may read; patterns cannot widen it. */
    readable?: KeyFilter,
  ) {
    const shared = internPatternSet(patterns, readable);
    this.matcher = shared.matcher;
    this.patternSetId = shared.id;
    this.heldVersions = mode === 'patch' ? new Map() : null;
    this.shareable = mode === 'value';
  }

  /** mode "patch": the snapshot delivered these versions, so their keys' next patches can go as patches. */
  holdVersions(items: ReadonlyArray<{ key: string; version: number }>): void {
    if (!this.heldVersions) return;
    for (const item of items) this.heldVersions.set(item.key, item.version);
  }

  /** A live revision from the board feed. */
  offer(revision: Revision): void {
    if (this.closed) return;
    if (!this.live) {
      if (this.buffer.length < REPLAY_BUFFER_LIMIT) this.buffer.push(revision);
      else this.overflowed = true;
      return;
    }
    this.deliver(revision);
  }

  /** Forwards one revision if the cursor has not passed it. */
  deliver(revision: Revision): void {
    if (this.closed || revision.rev < this.nextRev) return;
    this.nextRev = revision.rev + 1;
    const fragment = this.heldVersions ? this.patchFragment(revision) : this.sharedFragment(revision);
    if (fragment) this.sink.queueEvents(this, fragment, revision.rev);
  }

  /**
   * Ends a replay: hands over the buffered live revisions. Returns false if the buffer
   * overflowed, in which case the caller replays again from `nextRev` before retrying.
   */
  goLive(): boolean {
    if (this.overflowed) {
      this.overflowed = false;
      this.buffer = [];
      return false;
    }
    const buffered = this.buffer;
    this.buffer = [];
    this.live = true;
    for (const revision of buffered) this.deliver(revision);
    return true;
  }

  private sharedFragment(revision: Revision): string | null {
    const frames = (revision.frames ??= new Map());
    const cached = frames.get(this.patternSetId);
    if (cached !== undefined) return cached;
    let fragment: string | null = null;
    for (const entry of revision.entries) {
      if (!this.matcher(entry.key)) continue;
      fragment = fragment === null ? entry.eventJson : `${fragment},${entry.eventJson}`;
    }
    frames.set(this.patternSetId, fragment);
    return fragment;
  }

  /** mode "patch": a put carries its patch instead of its value when that is smaller. */
  private patchFragment(revision: Revision): string | null {
    const held = this.heldVersions!;
    const parts: string[] = [];
    for (const entry of revision.entries) {
      if (!this.matcher(entry.key)) continue;
      const { value: event, lossless } = parseJson(entry.eventJson) as { value: Record<string, unknown>; lossless: boolean };
      const version = Number(event.version);
      const canPatch = entry.patchJson !== '' && held.get(entry.key) === version - 1;
      held.set(entry.key, version);
      if (!canPatch || entry.patchJson.length >= stringifyJson(event.value, lossless).length) {
        parts.push(entry.eventJson);
        continue;
      }
      delete event.value;
      event.patch = parseJson(entry.patchJson).value;
      parts.push(stringifyJson(event, lossless));
    }
    return parts.length > 0 ? parts.join(',') : null;
  }
}
