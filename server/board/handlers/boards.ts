import type { Handler } from '../../extension.js';
import { BOARDS_INDEX, boardKeys } from '../keys.js';

const DEFAULT_LIMIT = 1_000;
/** Names read from the index per round: most are kept, the caller's scopes decide. */
const SCAN_BATCH = 1_000;
/** A page entry's share of the reply, besides the board's name and epoch. */
const ENTRY_OVERHEAD_BYTES = 40;

interface BoardEntry {
  board: string;
  rev: number;
  epoch: string;
}

/**
 * `boards`: the boards with at least one committed revision that the caller may read
 * some part of, by plain prefix, in byte order, in pages (`after`, `more`) cut by `limit`
 * and by MAX_REPLY_BYTES. The index also names boards created by a write that was then
 * refused (revision 0): they are skipped.
 */
export const boards: Handler<'boards'> = async (frame, ctx) => {
  const { redis, config } = ctx.services;
  const prefix = frame.prefix ?? '';
  const limit = frame.limit ?? DEFAULT_LIMIT;
  const high = prefix === '' ? '+' : `(${prefix}\xff`;
  let low = frame.after !== undefined && frame.after >= prefix ? `(${frame.after}` : `[${prefix}`;
  const page: BoardEntry[] = [];
  let bytes = 0;
  for (;;) {
    const names = await redis.zrangebylex(BOARDS_INDEX, low, high, 'LIMIT', 0, SCAN_BATCH);
    const readable = names.filter((board) => {
      const access = ctx.readAccess(board);
      return access === null || access.prefixes.length > 0;
    });
    // One command per board: boards live in different cluster slots, so no pipeline.
    const states = await Promise.all(readable.map((board) => redis.hmget(boardKeys(board).meta, 'rev', 'epoch')));
    for (const [i, board] of readable.entries()) {
      const [rev, epoch] = states[i] ?? [];
      if (!epoch || !(Number(rev) >= 1)) continue;
      // One more board that qualifies: this page is full and says so.
      if (page.length === limit || bytes >= config.MAX_REPLY_BYTES) return { boards: page, more: true };
      page.push({ board, rev: Number(rev), epoch });
      bytes += board.length + epoch.length + ENTRY_OVERHEAD_BYTES;
    }
    if (names.length < SCAN_BATCH) return { boards: page, more: false };
    low = `(${names[names.length - 1]!}`;
  }
};
