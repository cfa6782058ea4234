import { BlackboardError, ErrorCode, type BlackboardClient, type BoardEvent } from '../../sdk/index.js';
import type { BoardModel } from './board-model.js';

/** A board's keys at one past revision. */
export interface PastBoard {
  rev: number;
  entries: Map<string, { value: unknown; version: number; modRev: number }>;
  /** `atRev` (Postgres history) or `events` (rebuilt from the retained change log). */
  source: 'atRev' | 'events';
  /** Keys whose value at `rev` is unknown because the retained log starts after it. */
  unknown: number;
}

/** Bounds on one time-travel read: a board this large is shown partially rather than stalling the page. */
const PAGE = 5_000;
const MAX_KEYS = 100_000;
const MAX_EVENTS = 500_000;

/**
 * The board as of `rev`: `list` with `atRev` where the server keeps history, otherwise
 * rebuilt from `history` events (the server's retained change log) plus the live replica
 * for keys that have not changed since.
 */
export async function boardAt(client: BlackboardClient, model: BoardModel, rev: number): Promise<PastBoard> {
  try {
    return await listAt(client, model.board, rev);
  } catch (err) {
    if (!(err instanceof BlackboardError && err.code === ErrorCode.UNAVAILABLE)) throw err;
  }
  return replayTo(client, model, rev);
}

async function listAt(client: BlackboardClient, board: string, rev: number): Promise<PastBoard> {
  const entries: PastBoard['entries'] = new Map();
  let after: string | undefined;
  // `$` keys sort first, so one pass over prefix '' gets them with the rest.
  for (;;) {
    const page = await client.list(board, '', { atRev: rev, limit: PAGE, ...(after === undefined ? {} : { after }) });
    for (const item of page.items) entries.set(item.key, { value: item.value, version: item.version, modRev: item.modRev });
    const last = page.items[page.items.length - 1];
    if (!page.more || !last || entries.size >= MAX_KEYS) break;
    after = last.key;
  }
  return { rev, entries, source: 'atRev', unknown: 0 };
}

async function replayTo(client: BlackboardClient, model: BoardModel, rev: number): Promise<PastBoard> {
  const entries: PastBoard['entries'] = new Map();
  const seen = new Set<string>();
  let firstRev: number | null = null;
  let fromRev = 1;
  let read = 0;
  for (;;) {
    const page = await client.history(model.board, { fromRev, toRev: rev, limit: PAGE });
    for (const event of page.events) {
      firstRev ??= event.rev;
      apply(entries, event);
      seen.add(event.key);
    }
    read += page.events.length;
    const last = page.events[page.events.length - 1];
    if (!page.more || !last || read >= MAX_EVENTS) break;
    fromRev = last.rev + 1;
  }
  // Keys the log does not mention up to `rev`: their live value is the one at `rev` if they
  // have not changed since. The others are known only if the log reaches back far enough.
  // Every revision has at least one event, so the log is whole exactly when it starts at 1.
  const complete = firstRev === 1;
  let unknown = 0;
  for (const key of model.keys.all) {
    if (seen.has(key)) continue;
    const live = model.entry(key);
    if (!live) continue;
    if (live.modRev <= rev) entries.set(key, { value: live.value, version: live.version, modRev: live.modRev });
    else if (!complete && live.createRev <= rev) unknown++;
  }
  return { rev, entries, source: 'events', unknown };
}

function apply(entries: PastBoard['entries'], event: BoardEvent): void {
  if (event.type === 'delete') entries.delete(event.key);
  else entries.set(event.key, { value: event.value, version: event.version, modRev: event.rev });
}
