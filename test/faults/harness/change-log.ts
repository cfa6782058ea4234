import type { BlackboardClient, BoardEvent } from '../../../client/sdk/index.js';

const PAGE = 5_000;

/**
 * The board's change log as the server serves it (`history`: Postgres up to the
 * watermark, the stream above it), oldest first; one key's, or the whole board's.
 */
export async function changeLog(client: BlackboardClient, board: string, key?: string): Promise<BoardEvent[]> {
  const events: BoardEvent[] = [];
  for (let fromRev = 1; ; ) {
    const page = await client.history(board, { ...(key === undefined ? {} : { key }), fromRev, limit: PAGE });
    events.push(...page.events);
    const last = page.events[page.events.length - 1];
    if (!page.more || !last) return events;
    fromRev = last.rev + 1;
  }
}
