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
    const result = await client.boards(prefix);
    ctx.out.result(result, () => table([['BOARD', 'REV', 'EPOCH'], ...result.boards.map((b) => [b.board, String(b.rev), b.epoch])]));
    return ExitCode.OK;
  },
};
