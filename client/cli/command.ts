import type { CommandLine, OptionsConfig } from './args.js';
import type { CliContext } from './context.js';

/** One command of the `blackboard` tool; each lives in its own file under commands/. */
export interface Command {
  name: string;
  /** The synopsis, e.g. `put <board> <key> <json> [--if-version N]`. */
  usage: string;
  summary: string;
  /** Extra lines for `blackboard help <command>`. */
  details?: string[];
  options?: OptionsConfig;
  /** Returns the exit status; errors thrown are mapped through the exit code table. */
  run(ctx: CliContext, line: CommandLine): Promise<number>;
}
