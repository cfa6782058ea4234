import type { BoardEvent } from '../../../shared/protocol/types.js';
import type { BlackboardClient } from '../../sdk/client.js';
import { boolFlag, intFlag, noMorePositionals, positional, stringFlag } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { formatEvent } from '../output.js';
import { Progress } from '../progress.js';

const MAX_PAGE = 10_000;

interface Range {
  board: string;
  key: string | undefined;
  fromRev: number;
  toRev: number | undefined;
}

/**
 * Pages through history oldest first. A page may stop inside a revision (a txn writes
 * several events at one rev), so the next page starts at that revision again and the
 * events of it already printed are skipped.
 */
async function* pages(client: BlackboardClient, range: Range, pageSize: number): AsyncGenerator<BoardEvent[]> {
  let fromRev = range.fromRev;
  let seenAtFromRev = 0;
  let size = pageSize;
  for (;;) {
    const page = await client.history(range.board, {
      fromRev,
      limit: size,
      ...(range.key === undefined ? {} : { key: range.key }),
      ...(range.toRev === undefined ? {} : { toRev: range.toRev }),
    });
    let skip = seenAtFromRev;
    const fresh = page.events.filter((e) => !(e.rev === fromRev && skip-- > 0));
    if (fresh.length > 0) yield fresh;
    const last = page.events[page.events.length - 1];
    if (!page.more || !last) return;
    if (last.rev === fromRev && fresh.length === 0) {
      // One revision larger than the page: read it with a larger page.
      if (size >= MAX_PAGE) throw new Error(`revision ${fromRev} holds more than ${MAX_PAGE} events`);
      size = Math.min(MAX_PAGE, size * 2);
      continue;
    }
    // The page began at the start of `fromRev`, so it holds every event of `last.rev` printed so far.
    seenAtFromRev = page.events.filter((e) => e.rev === last.rev).length;
    fromRev = last.rev;
  }
}

export const historyCommand: Command = {
  name: 'history',
  usage: 'history <board> [--key K] [--from-rev N] [--to-rev N] [--limit N] [--all]',
  summary: 'Print past events oldest first, one per line (--json: one event object per line).',
  details: [
    'Without --all, prints at most --limit events (default 1000) and says on stderr when more remain.',
    '--all pages through everything in range (an export), with a progress line on a terminal.',
  ],
  options: {
    key: { type: 'string' },
    'from-rev': { type: 'string' },
    'to-rev': { type: 'string' },
    limit: { type: 'string' },
    all: { type: 'boolean' },
  },
  async run(ctx, line) {
    const board = positional(line, 0, 'board');
    noMorePositionals(line, 1);
    const all = boolFlag(line, 'all');
    const limit = intFlag(line, 'limit', 1, all ? MAX_PAGE : 1_000_000) ?? 1_000;
    const range: Range = {
      board,
      key: stringFlag(line, 'key'),
      fromRev: intFlag(line, 'from-rev', 1) ?? 1,
      toRev: intFlag(line, 'to-rev', 1),
    };
    const client = await ctx.connect();
    const progress = all ? new Progress('history') : null;
    let printed = 0;
    let lastRev = 0;
    for await (const events of pages(client, range, Math.min(limit, MAX_PAGE))) {
      for (const event of events) {
        if (!all && printed === limit) {
          ctx.out.note(`(more events from rev ${event.rev}: use --from-rev ${event.rev} or --all)`);
          progress?.done();
          return ExitCode.OK;
        }
        ctx.out.result(event, () => formatEvent(event));
        printed++;
        lastRev = event.rev;
      }
      progress?.update(`${printed.toLocaleString('en')} events, at rev ${lastRev.toLocaleString('en')}`);
    }
    progress?.done();
    return ExitCode.OK;
  },
};
