import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis, Cluster } from 'ioredis';

/**
 * Lua scripts, one file each, named `<name>-<number of keys>.lua`. ioredis sends them
 * with EVALSHA and falls back to EVAL when Redis has forgotten them (after a restart).
 */

export type RedisClient = Redis | Cluster;

const scriptsDir = join(dirname(fileURLToPath(import.meta.url)), 'scripts');

export const SCRIPT_NAMES = ['commit-6', 'read-2', 'list-3', 'create-board-1'] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number] | string;

export function scriptSource(file: string): string {
  return readFileSync(join(scriptsDir, `${file}.lua`), 'utf8');
}

function commandName(file: string): string {
  return `bb_${file.replace(/-\d+$/, '').replace(/-/g, '_')}`;
}

/** Registers every script file in the folder on the client as a command `bb_<name>`. */
export function defineScripts(redis: RedisClient, files: readonly string[] = SCRIPT_NAMES): void {
  for (const file of files) {
    const keyCount = Number(/-(\d+)$/.exec(file)?.[1]);
    redis.defineCommand(commandName(file), { numberOfKeys: keyCount, lua: scriptSource(file) });
  }
}

type ScriptReply = Array<string | number | null>;

/** Calls a script registered by defineScripts. */
export async function runScript(
  redis: RedisClient,
  file: string,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): Promise<ScriptReply> {
  const fn = (redis as unknown as Record<string, (...a: Array<string | number>) => Promise<ScriptReply>>)[
    commandName(file)
  ];
  if (!fn) throw new Error(`script ${file} is not defined on this client`);
  return fn.call(redis, ...keys, ...args);
}
