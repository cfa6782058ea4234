import type { OptionsConfig } from '../args.js';
import { intFlag, stringFlag, type CommandLine } from '../args.js';
import { UsageError } from '../exit-codes.js';

/** Flags shared by the writing commands: a compare and a fencing token. */
export const writeOptions = {
  'if-version': { type: 'string' },
  'fence-lock': { type: 'string' },
  'fence-token': { type: 'string' },
} satisfies OptionsConfig;

interface WriteArgs {
  ifVersion?: number;
  fence?: { lock: string; token: number };
}

export function readWriteFlags(line: CommandLine): WriteArgs {
  const args: WriteArgs = {};
  const ifVersion = intFlag(line, 'if-version', 0);
  if (ifVersion !== undefined) args.ifVersion = ifVersion;
  const lock = stringFlag(line, 'fence-lock');
  const token = intFlag(line, 'fence-token', 1);
  if ((lock === undefined) !== (token === undefined)) throw new UsageError('--fence-lock and --fence-token go together');
  if (lock !== undefined && token !== undefined) args.fence = { lock, token };
  return args;
}
