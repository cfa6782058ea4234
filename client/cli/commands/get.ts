import type { GetResult } from '../../../shared/protocol/types.js';
import { intFlag, noMorePositionals, positional } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';

export const getCommand: Command = {
  name: 'get',
  usage: 'get <board> <key> [--at-rev N]',
  summary: 'Print a key: its value (pretty JSON) after a line of metadata.',
  options: { 'at-rev': { type: 'string' } },
  async run(ctx, line) {
    const board = positional(line, 0, 'board');
    const key = positional(line, 1, 'key');
    noMorePositionals(line, 2);
    const atRev = intFlag(line, 'at-rev', 1);
    const client = await ctx.connect();
    const got: GetResult = await client.get(board, key, atRev === undefined ? {} : { atRev });
    ctx.out.result(got, () => [
      `${got.key}  version ${got.version}  modRev ${got.modRev}  createRev ${got.createRev}  (board at rev ${got.rev})`,
      JSON.stringify(got.value, null, 2),
    ]);
    return ExitCode.OK;
  },
};
