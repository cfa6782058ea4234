import { noMorePositionals, positional } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { readWriteFlags, writeOptions } from './write-flags.js';

export const delCommand: Command = {
  name: 'del',
  usage: 'del <board> <key> [--if-version N] [--fence-lock NAME --fence-token N]',
  summary: 'Delete a key (exit 2 if it does not exist, 3 if --if-version does not match).',
  options: writeOptions,
  async run(ctx, line) {
    const board = positional(line, 0, 'board');
    const key = positional(line, 1, 'key');
    noMorePositionals(line, 2);
    const options = readWriteFlags(line);
    const client = await ctx.connect();
    const result = await client.delete(board, key, options);
    ctx.out.result(result, () => `${key}: deleted at rev ${result.rev}`);
    return ExitCode.OK;
  },
};
