import { readFileSync } from 'node:fs';
import { boolFlag, noMorePositionals, parseJsonArg, positional, stringFlag } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { readWriteFlags, writeOptions } from './write-flags.js';

/** The value to write: the argument, or a file (`-` is stdin), as JSON unless --string. */
function readValue(text: string | undefined, file: string | undefined, raw: boolean): unknown {
  if ((text === undefined) === (file === undefined)) throw new UsageError('give the value either as <json> or with --file');
  const source = text ?? readFileSync(file === '-' ? 0 : file!, 'utf8');
  return raw ? source : parseJsonArg(source, 'the value');
}

export const putCommand: Command = {
  name: 'put',
  usage: 'put <board> <key> <json> [--if-version N] [--string] [--file PATH|-] [--fence-lock NAME --fence-token N]',
  summary: 'Write a key. --if-version N writes only if the key is at version N (0: absent); else exit 3.',
  details: [
    'The value is JSON: numbers, objects, and strings in quotes (\'"text"\'). --string stores the argument as text.',
    '--file PATH reads the value from a file, `-` from stdin.',
  ],
  options: { ...writeOptions, string: { type: 'boolean' }, file: { type: 'string' } },
  async run(ctx, line) {
    const board = positional(line, 0, 'board');
    const key = positional(line, 1, 'key');
    noMorePositionals(line, 3);
    const value = readValue(line.positionals[2], stringFlag(line, 'file'), boolFlag(line, 'string'));
    const options = readWriteFlags(line);
    const client = await ctx.connect();
    const result = await client.put(board, key, value, options);
    ctx.out.result(result, () => `${key}: version ${result.version} at rev ${result.rev}`);
    return ExitCode.OK;
  },
};
