#!/usr/bin/env node
import { boolFlag, parseCommandLine, splitCommand } from './args.js';
import type { Command } from './command.js';
import { findCommand } from './commands/index.js';
import { CliContext, readGlobalFlags } from './context.js';
import { ExitCode, UsageError, exitCodeFor } from './exit-codes.js';
import { Output } from './output.js';
import { commandHelp, generalHelp } from './usage.js';

/** Runs one command line; resolves with the exit status (see exit-codes.ts). */
async function main(argv: readonly string[]): Promise<number> {
  const { name, args } = splitCommand(argv);
  let out = new Output(argv.includes('--json'));
  let command: Command | undefined;
  let ctx: CliContext | null = null;
  try {
    if (name === undefined || name === 'help') {
      const line = parseCommandLine(args);
      const topic = name === 'help' ? line.positionals[0] : undefined;
      const about = topic === undefined ? undefined : findCommand(topic);
      if (topic !== undefined && !about) throw new UsageError(`unknown command ${JSON.stringify(topic)}`);
      const text = about ? commandHelp(about) : generalHelp();
      if (name === undefined && !boolFlag(line, 'help')) {
        process.stderr.write(text);
        return ExitCode.USAGE;
      }
      process.stdout.write(text);
      return ExitCode.OK;
    }
    command = findCommand(name);
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)} (see blackboard --help)`);
    const line = parseCommandLine(args, command.options);
    if (boolFlag(line, 'help')) {
      process.stdout.write(commandHelp(command));
      return ExitCode.OK;
    }
    ctx = new CliContext(readGlobalFlags(line));
    out = ctx.out;
    return await command.run(ctx, line);
  } catch (err) {
    out.error(err);
    if (err instanceof UsageError && command && !out.json) process.stderr.write(`usage: blackboard ${command.usage}\n`);
    return exitCodeFor(err);
  } finally {
    ctx?.close();
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Nothing should keep the process up once the command is done; if something does, go anyway.
  setTimeout(() => process.exit(code), 2_000).unref();
});
