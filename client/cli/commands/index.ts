import type { Command } from '../command.js';
import { boardsCommand } from './boards.js';
import { delCommand } from './del.js';
import { getCommand } from './get.js';
import { historyCommand } from './history.js';
import { lockCommand } from './lock.js';
import { lsCommand } from './ls.js';
import { mcpCommand } from './mcp.js';
import { putCommand } from './put.js';
import { searchCommand } from './search.js';
import { taskCommand } from './task.js';
import { tokenCommand } from './token.js';
import { watchCommand } from './watch.js';

/** Every command, in the order `blackboard help` lists them. */
export const commands: readonly Command[] = [
  getCommand,
  putCommand,
  delCommand,
  lsCommand,
  watchCommand,
  historyCommand,
  searchCommand,
  lockCommand,
  taskCommand,
  boardsCommand,
  tokenCommand,
  mcpCommand,
];

export function findCommand(name: string): Command | undefined {
  return commands.find((c) => c.name === name);
}
