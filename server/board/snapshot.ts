import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { KeyMatcher } from '../../shared/protocol/globs.js';
import { RawJson, parseJson, stringifyJson } from '../../shared/protocol/json.js';
import type { KeyRecord } from '../../shared/protocol/types.js';
import { readStream } from './feed.js';
import { toKeyRecord } from './records.js';
import type { RedisClient } from './scripts.js';
import { compareBytes, inRange, type KeyRange } from './snapshot-ranges.js';
import type { BoardStore } from './store.js';

/** Keys per page: each page is one short script call, so Redis serves others in between. */
const PAGE_KEYS = 1_000;
const STREAM_BATCH = 1_000;
const ATTEMPTS = 3;

interface Snapshot {
  rev: number;
  /** '' when the board has no meta (never written). */
  epoch: string;
  items: KeyRecord<RawJson>[];
}

/** One page read: the keys after `after` up to `last` (null: to the end of its range) as of `rev`. */
interface Page {
  after: string | null;
  last: string | null;
  rev: number;
}

interface Read {
  range: KeyRange;
  pages: Page[];
}

/**
 * Reads the keys of `ranges` that `matcher` accepts, as of one revision, in pages: each
 * page is atomic but pages are read at successive revisions, so the earlier ones are
 * brought forward to the last page's revision with the changes the board's stream holds
 * between them (exactly what happened to each page's keys after it was read).
 */
export async function readSnapshot(
  store: BoardStore,
  redis: RedisClient,
  board: string,
  ranges: readonly KeyRange[],
  matcher: KeyMatcher,
  pageBytes: number,
): Promise<Snapshot> {
  for (let attempt = 1; ; attempt++) {
    const snapshot = await readOnce(store, redis, board, ranges, matcher, pageBytes);
    if (snapshot) return snapshot;
    if (attempt === ATTEMPTS) {
      throw new BlackboardError(ErrorCode.UNAVAILABLE, `board ${board} changed too fast to be read as of one revision; retry`);
    }
  }
}

async function readOnce(
  store: BoardStore,
  redis: RedisClient,
  board: string,
  ranges: readonly KeyRange[],
  matcher: KeyMatcher,
  pageBytes: number,
): Promise<Snapshot | null> {
  const items = new Map<string, KeyRecord<RawJson>>();
  const reads: Read[] = [];
  let epoch = '';
  const sameEpoch = (seen: string) => {
    // A board rebuilt under the read (a new epoch) is read again from the start.
    if (seen !== '' && epoch !== '' && seen !== epoch) throw new BlackboardError(ErrorCode.UNAVAILABLE, `board ${board} was rebuilt; retry`);
    if (seen !== '') epoch = seen;
  };
  for (const range of ranges) {
    const read: Read = { range, pages: [] };
    reads.push(read);
    if (range.kind === 'exact') {
      const got = await store.read(board, range.key);
      sameEpoch(got.epoch);
      if (got.record && matcher(range.key)) items.set(range.key, toKeyRecord(range.key, got.record));
      read.pages.push({ after: null, last: null, rev: got.rev });
      continue;
    }
    let after: string | null = null;
    for (;;) {
      const page = await store.list(board, range.prefix, after ?? undefined, PAGE_KEYS, pageBytes);
      sameEpoch(page.epoch);
      for (const item of page.items) if (matcher(item.key)) items.set(item.key, item);
      const last: string | null = page.more ? (page.items.at(-1)?.key ?? after) : null;
      read.pages.push({ after, last, rev: page.rev });
      if (!page.more) break;
      after = last;
    }
  }
  const revs = reads.flatMap((r) => r.pages.map((p) => p.rev));
  const rev = Math.max(0, ...revs);
  const oldest = Math.min(rev, ...revs);
  if (oldest < rev && !(await catchUp(redis, board, reads, items, matcher, oldest, rev))) return null;
  const sorted = [...items.values()];
  if (oldest < rev) sorted.sort((a, b) => compareBytes(a.key, b.key));
  return { rev, epoch, items: sorted };
}

/** The page of `reads` that covered `key`, or undefined when no range holds it. */
function pageOf(reads: readonly Read[], key: string): Page | undefined {
  const read = reads.find((r) => inRange(r.range, key));
  return read?.pages.find((p) => p.last === null || compareBytes(key, p.last) <= 0);
}

/** Applies revisions (from, to] to the keys of pages read before them; false when the stream no longer holds them. */
async function catchUp(
  redis: RedisClient,
  board: string,
  reads: readonly Read[],
  items: Map<string, KeyRecord<RawJson>>,
  matcher: KeyMatcher,
  from: number,
  to: number,
): Promise<boolean> {
  let next = from + 1;
  while (next <= to) {
    const batch = await readStream(redis, board, next, STREAM_BATCH);
    if (batch[0]?.rev !== next) return false;
    for (const revision of batch) {
      if (revision.rev > to) return true;
      for (const entry of revision.entries) {
        if (!matcher(entry.key)) continue;
        const page = pageOf(reads, entry.key);
        if (!page || revision.rev <= page.rev) continue;
        const { value: event, lossless } = parseJson(entry.eventJson) as { value: Record<string, unknown>; lossless: boolean };
        if (event.type === 'delete') {
          items.delete(entry.key);
          continue;
        }
        const version = Number(event.version);
        const previous = items.get(entry.key);
        items.set(entry.key, {
          key: entry.key,
          value: new RawJson(stringifyJson(event.value, lossless)),
          version,
          createRev: version > 1 && previous ? previous.createRev : revision.rev,
          modRev: revision.rev,
        });
      }
      next = revision.rev + 1;
    }
    if (batch.length < STREAM_BATCH && next <= to) return false;
  }
  return true;
}
