import type { BoardsResult } from '../../../shared/protocol/types.js';
import { noMorePositionals } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { table } from '../output.js';

export const boardsCommand: Command = {
  name: 'boards',
  usage: 'boards [prefix]',
  summary: 'List the boards you may read, with their revision and epoch.',
  async run(ctx, line) {
    const prefix = line.positionals[0];
    noMorePositionals(line, 1);
    const client = await ctx.connect();
    // Every page: the server cuts its replies by count and size.
    const boards: BoardsResult['boards'] = [];
    for (let after: string | undefined; ; ) {
      const page = await client.boards(prefix, after === undefined ? {} : { after });
      boards.push(...page.boards);
      after = page.boards.at(-1)?.board;
      if (!page.more || after === undefined) break;
    }
    const result = { boards, more: false };
    ctx.out.result(result, () => table([['BOARD', 'REV', 'EPOCH'], ...boards.map((b) => [b.board, String(b.rev), b.epoch])]));
    return ExitCode.OK;
  },
};
