import type { Command } from './command.js';
import { commands } from './commands/index.js';
import { DEFAULT_URL } from './context.js';
import { EXIT_CODE_MEANINGS } from './exit-codes.js';

const GLOBAL_FLAGS = [
  ['--url URL', `server address (default $BLACKBOARD_URL, else ${DEFAULT_URL})`],
  ['--agent ID', 'agent id to act as, when the server runs without authentication'],
  ['--token JWT', 'credential (default $BLACKBOARD_TOKEN)'],
  ['--json', 'output for scripts: one JSON document per line; errors as JSON on stderr'],
  ['--timeout MS', 'bound on connecting and on each request (default 10000)'],
  ['-h, --help', 'help; `blackboard help <command>` for one command'],
] as const;

function columns(rows: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`);
}

export function generalHelp(): string {
  return [
    'blackboard: the command line for a Blackboard server',
    '',
    'Usage: blackboard [global flags] <command> [arguments]',
    '',
    'Commands:',
    ...columns(commands.map((c) => [c.name, c.summary] as const)),
    '',
    'Global flags (anywhere on the line):',
    ...columns(GLOBAL_FLAGS),
    '',
    'Exit status:',
    ...columns(Object.entries(EXIT_CODE_MEANINGS).map(([code, meaning]) => [code, meaning] as const)),
    '',
  ].join('\n');
}

export function commandHelp(command: Command): string {
  return [`Usage: blackboard ${command.usage}`, '', command.summary, ...(command.details ?? []), ''].join('\n');
}
