import type { OpArgs } from '../../shared/protocol/messages/index.js';
import type { BoardEvent, HistoryResult, KeyRecord, ListResult } from '../../shared/protocol/types.js';

/** What the iterators need of the client: one page of `list` or `history`. */
interface PagedReads {
  list<V>(board: string, prefix: string, options: Omit<OpArgs<'list'>, 'board' | 'prefix'>): Promise<ListResult<V>>;
  history(board: string, options: Omit<OpArgs<'history'>, 'board'>): Promise<HistoryResult>;
}

/** Events per `history` reply that iterateHistory asks for: the most ops one txn may hold. */
const HISTORY_PAGE = 1_000;

/**
 * Every key under `prefix`, one page after another: follows `more` with `after` until the
 * last page, so replies the server cut by size (or by `limit`, the page size) are read through.
 */
export async function* iterateList<V>(
  client: PagedReads,
  board: string,
  prefix: string,
  options: Omit<OpArgs<'list'>, 'board' | 'prefix'>,
): AsyncGenerator<KeyRecord<V>, void, undefined> {
  let after = options.after;
  for (;;) {
    const page = await client.list<V>(board, prefix, { ...options, ...(after === undefined ? {} : { after }) });
    yield* page.items;
    const last = page.items.at(-1);
    if (!page.more || !last) return;
    after = last.key;
  }
}

/**
 * Every event from `fromRev` to `toRev`, one reply after another. A reply may end inside a
 * revision (`limit` counts events): the next one starts at that revision again, and the
 * events of it already yielded are skipped (a revision's events always come in one order).
 */
export async function* iterateHistory(
  client: PagedReads,
  board: string,
  options: Omit<OpArgs<'history'>, 'board'>,
): AsyncGenerator<BoardEvent, void, undefined> {
  // At least as many events as one txn can hold, so every reply gets past the revision it starts in.
  const limit = Math.max(options.limit ?? HISTORY_PAGE, HISTORY_PAGE);
  let fromRev = options.fromRev;
  let lastRev = -1;
  let seenOfLast = 0;
  for (;;) {
    const page = await client.history(board, { ...options, limit, ...(fromRev === undefined ? {} : { fromRev }) });
    let skip = page.events[0]?.rev === lastRev ? seenOfLast : 0;
    let progressed = false;
    for (const event of page.events) {
      if (skip > 0 && event.rev === lastRev) {
        skip--;
        continue;
      }
      if (event.rev === lastRev) seenOfLast++;
      else {
        lastRev = event.rev;
        seenOfLast = 1;
      }
      progressed = true;
      yield event;
    }
    if (!page.more || page.events.length === 0) return;
    // A reply with nothing new cannot happen with whole revisions; never ask for it twice.
    fromRev = progressed ? lastRev : lastRev + 1;
  }
}
