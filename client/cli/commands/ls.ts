import type { KeyRecord } from '../../../shared/protocol/types.js';
import { intFlag, noMorePositionals, positional } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { compact, table } from '../output.js';
import { Progress } from '../progress.js';

const PAGE = 1_000;

export const lsCommand: Command = {
  name: 'ls',
  usage: 'ls <board> [prefix] [--limit N] [--at-rev N]',
  summary: 'List keys under a prefix in byte order, with version and value (at most --limit, default 1000).',
  options: { limit: { type: 'string' }, 'at-rev': { type: 'string' } },
  async run(ctx, line) {
    const board = positional(line, 0, 'board');
    const prefix = line.positionals[1] ?? '';
    noMorePositionals(line, 2);
    const limit = intFlag(line, 'limit', 1, 1_000_000) ?? 1_000;
    const atRev = intFlag(line, 'at-rev', 1);
    const client = await ctx.connect();
    const items: KeyRecord[] = [];
    const progress = new Progress('ls');
    let rev = 0;
    let more = false;
    let after: string | undefined;
    do {
      const page = await client.list(board, prefix, {
        limit: Math.min(PAGE, limit - items.length),
        ...(after === undefined ? {} : { after }),
        ...(atRev === undefined ? {} : { atRev }),
      });
      items.push(...page.items);
      rev = page.rev;
      more = page.more;
      after = page.items[page.items.length - 1]?.key;
      progress.update(`${items.length} keys`);
    } while (more && after !== undefined && items.length < limit);
    progress.done();
    ctx.out.result({ items, rev, more }, () =>
      table([['KEY', 'VERSION', 'MODREV', 'VALUE'], ...items.map((i) => [i.key, String(i.version), String(i.modRev), compact(i.value)])]),
    );
    if (more) ctx.out.note(`(more keys after ${after ?? ''}: raise --limit)`);
    return ExitCode.OK;
  },
};
