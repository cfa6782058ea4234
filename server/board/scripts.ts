import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis, Cluster } from 'ioredis';

/**
 * Lua scripts, one file each, named `<name>-<number of keys>.lua`, in a `scripts/` folder
 * beside the capability that owns them. ioredis sends them with EVALSHA and falls back to
 * EVAL when Redis has forgotten them (after a restart).
 */

export type RedisClient = Redis | Cluster;

/**
 * Every script the server runs, by file name, with its number of keys. The board's are
 * here; each other capability adds its own from its folder (`declare module` of this file),
 * so a name nobody declared does not compile, and the board imports none of them.
 */
export interface ScriptRegistry {
  'commit-6': 6;
  'read-2': 2;
  'list-3': 3;
  'create-board-1': 1;
}
export type ScriptName = keyof ScriptRegistry;

/** The `scripts/` folder beside a module (pass `import.meta.url`). */
export function scriptsFolder(moduleUrl: string): string {
  return join(dirname(fileURLToPath(moduleUrl)), 'scripts');
}

const boardScripts = scriptsFolder(import.meta.url);

export const SCRIPT_NAMES = ['commit-6', 'read-2', 'list-3', 'create-board-1'] as const satisfies readonly ScriptName[];

/** The text of `<folder>/<file>.lua` (the board's folder unless another is given). */
export function scriptSource(file: string, folder = boardScripts): string {
  return readFileSync(join(folder, `${file}.lua`), 'utf8');
}

/** Keys a script takes: the number its file name ends with. */
function keyCount(file: string): number {
  return Number(/-(\d+)$/.exec(file)?.[1]);
}

function commandName(file: string): string {
  return `bb_${file.replace(/-\d+$/, '').replace(/-/g, '_')}`;
}

/** Registers scripts of one folder on the client as commands `bb_<name>`. */
export function defineScripts(redis: RedisClient, files: readonly ScriptName[] = SCRIPT_NAMES, folder = boardScripts): void {
  for (const file of files) defineScript(redis, file, scriptSource(file, folder));
}

/** Registers one script from its source text (scripts composed of several files). */
export function defineScript(redis: RedisClient, file: ScriptName, lua: string): void {
  redis.defineCommand(commandName(file), { numberOfKeys: keyCount(file), lua });
}

export type ScriptReply = Array<string | number | null>;

/** Calls a script registered by defineScripts, with exactly the keys its name says. */
export async function runScript(redis: RedisClient, file: ScriptName, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<ScriptReply> {
  if (keys.length !== keyCount(file)) throw new Error(`script ${file} takes ${keyCount(file)} keys, not ${keys.length}`);
  const fn = (redis as unknown as Record<string, (...a: Array<string | number>) => Promise<ScriptReply>>)[commandName(file)];
  if (!fn) throw new Error(`script ${file} is not defined on this client`);
  return fn.call(redis, ...keys, ...args);
}
