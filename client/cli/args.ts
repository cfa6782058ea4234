import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './exit-codes.js';

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
type Value = string | boolean | Array<string | boolean> | undefined;

/** Flags every command takes; they may appear anywhere on the line. */
const globalOptions = {
  url: { type: 'string' },
  agent: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies OptionsConfig;

export interface CommandLine {
  positionals: string[];
  values: Record<string, Value>;
  /** The words after `--`, untouched (the command `lock` runs them). */
  rest: string[];
}

/** Finds the command word: the first word that is neither a global flag nor its value. */
export function splitCommand(argv: readonly string[]): { name: string | undefined; args: string[] } {
  const options: Record<string, { type: string } | undefined> = globalOptions;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') break;
    if (word.startsWith('--')) {
      const name = word.slice(2).split('=', 1)[0]!;
      if (options[name]?.type === 'string' && !word.includes('=')) i++;
      continue;
    }
    if (word.startsWith('-') && word.length > 1) continue;
    return { name: word, args: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { name: undefined, args: [...argv] };
}

/** Parses a command's words strictly: an unknown flag or a missing value is a usage error. */
export function parseCommandLine(args: readonly string[], commandOptions: OptionsConfig = {}): CommandLine {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { ...globalOptions, ...commandOptions },
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) throw new UsageError((err as Error).message);
    throw err;
  }
  const terminator = parsed.tokens.find((t) => t.kind === 'option-terminator');
  const rest = terminator ? args.slice(terminator.index + 1) : [];
  const positionals = parsed.tokens.flatMap((t) => (t.kind === 'positional' && (!terminator || t.index < terminator.index) ? [t.value] : []));
  return { positionals, values: parsed.values as Record<string, Value>, rest };
}

/** The positional at `index`, named for the error message when it is missing. */
export function positional(line: CommandLine, index: number, name: string): string {
  const value = line.positionals[index];
  if (value === undefined) throw new UsageError(`missing <${name}>`);
  return value;
}

export function noMorePositionals(line: CommandLine, count: number): void {
  if (line.positionals.length > count) throw new UsageError(`unexpected argument ${JSON.stringify(line.positionals[count])}`);
}

export function stringFlag(line: CommandLine, name: string): string | undefined {
  const value = line.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function stringsFlag(line: CommandLine, name: string): string[] {
  const value = line.values[name];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

export function boolFlag(line: CommandLine, name: string): boolean {
  return line.values[name] === true;
}

/** An integer flag within bounds; absent → undefined. */
export function intFlag(line: CommandLine, name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const text = stringFlag(line, name);
  if (text === undefined) return undefined;
  return parseInteger(text, `--${name}`, min, max);
}

export function parseInteger(text: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(text)) throw new UsageError(`${what} must be an integer, not ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${what} must be between ${min} and ${max}`);
  return n;
}

/** A JSON argument (a value, task data). Plain words must be quoted as JSON strings. */
export function parseJsonArg(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`${what} must be JSON: quote a string as '"${text}"', or pass --string to store the text as it is`);
  }
}
