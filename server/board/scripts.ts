import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReplyError, type Redis, type Cluster } from 'ioredis';
import type { RawJson } from '../../shared/protocol/json.js';
import type { KeyRecord } from '../../shared/protocol/types.js';
import { parseRecord, toKeyRecord, type StoredRecord } from './records.js';
import { decodeFailure, type ScriptFailure } from './script-failures.js';

/**
 * Lua scripts, one file each, named `<name>-<number of keys>.lua`, in a `scripts/` folder
 * beside the capability that owns them. ioredis sends them with EVALSHA and falls back to
 * EVAL when Redis has forgotten them (after a restart). Each script has one decoder that
 * turns its reply into a typed result; a failure is a `ScriptFailure` from the one table
 * of failure codes (script-failures.ts), so no caller reads a reply array or a status number.
 */

export type RedisClient = Redis | Cluster;

/** A reply as Redis gives it: scripts reply with an array, a number, a string or nil. */
export type RawReply = string | number | null | Array<string | number | null>;
export type ScriptReply = Array<string | number | null>;

/** A script's entry in the registry: its number of keys (the number its file name ends with) and its decoded result. */
export interface ScriptEntry<Keys extends number, Result> {
  keys: Keys;
  result: Result;
}

/**
 * Every script the server runs, by file name. The board's are here; each other capability
 * adds its own from its folder (`declare module` of this file), so a name nobody declared
 * does not compile, and the board imports none of them.
 */
export interface ScriptRegistry {
  'commit-6': ScriptEntry<6, CommitResult>;
  'read-2': ScriptEntry<2, ReadResult>;
  'list-3': ScriptEntry<3, ListResult>;
  'create-board-1': ScriptEntry<1, { created: boolean; epoch: string }>;
}
export type ScriptName = keyof ScriptRegistry;
export type ScriptResult<N extends ScriptName> = ScriptRegistry[N]['result'];

/** Compiles only while every name ends with its entry's number of keys. */
type KeysMatchNames = { [N in ScriptName]: N extends `${string}-${ScriptRegistry[N]['keys']}` ? true : N };
type ScriptKeysCheck = KeysMatchNames[ScriptName] extends true ? true : never;
const keysCheck: ScriptKeysCheck = true;
void keysCheck;

/** How a script is registered: its name, its Lua text, and the decoder of its reply. */
export interface ScriptDefinition<N extends ScriptName = ScriptName> {
  readonly name: N;
  readonly lua: () => string;
  readonly decode: (reply: RawReply) => ScriptResult<N>;
}

export type AnyScriptDefinition = { [N in ScriptName]: ScriptDefinition<N> }[ScriptName];

/** The `scripts/` folder beside a module (pass `import.meta.url`). */
export function scriptsFolder(moduleUrl: string): string {
  return join(dirname(fileURLToPath(moduleUrl)), 'scripts');
}

const boardScripts = scriptsFolder(import.meta.url);

/** The text of `<folder>/<file>.lua` (the board's folder unless another is given). */
export function scriptSource(file: string, folder = boardScripts): string {
  return readFileSync(join(folder, `${file}.lua`), 'utf8');
}

/** A script read from `<folder>/<name>.lua`, with its decoder. */
export function scriptIn<N extends ScriptName>(folder: string, name: N, decode: (reply: RawReply) => ScriptResult<N>): ScriptDefinition<N> {
  return { name, lua: () => scriptSource(name, folder), decode };
}

/** What runScript needs of a defined script, found once per name. */
interface Defined {
  keys: number;
  lua: string;
  sha: string;
  decode: (reply: RawReply) => unknown;
}
const defined = new Map<string, Defined>();

/**
 * Registers scripts (the board's own unless others are given). They are sent with EVALSHA,
 * and with EVAL once when Redis does not know them (after a restart or a failover), which
 * caches them again. They are not defined as ioredis commands: ioredis copies every such
 * command into each auto-pipeline batch it makes, a cost every command of the connection
 * would pay.
 */
export function defineScripts(_redis: RedisClient, scripts: readonly AnyScriptDefinition[] = BOARD_SCRIPTS): void {
  for (const script of scripts) {
    const name: string = script.name;
    if (defined.has(name)) continue;
    const lua = script.lua();
    defined.set(name, {
      keys: Number(/-(\d+)$/.exec(name)?.[1]),
      lua,
      sha: createHash('sha1').update(lua).digest('hex'),
      decode: script.decode as (reply: RawReply) => unknown,
    });
  }
}

/** Whether Redis answered NOSCRIPT (the first word of an error reply is its code, by protocol). */
function noScript(err: unknown): boolean {
  return err instanceof ReplyError && String((err as Error).message).startsWith('NOSCRIPT');
}

type ScriptCall = (script: string, numKeys: number, ...keysAndArgs: Array<string | number>) => Promise<unknown>;

/**
 * Calls a script registered by defineScripts with exactly the keys its name says; its reply
 * as Redis gave it.
 */
export function runScriptRaw(redis: RedisClient, file: ScriptName, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<RawReply> {
  const entry = defined.get(file);
  if (!entry) return Promise.reject(new Error(`script ${file} is not defined`));
  if (keys.length !== entry.keys) return Promise.reject(new Error(`script ${file} takes ${entry.keys} keys, not ${keys.length}`));
  const sent = (redis.evalsha as ScriptCall)(entry.sha, entry.keys, ...keys, ...args) as Promise<RawReply>;
  return sent.catch((err: unknown) => {
    if (!noScript(err)) throw err;
    return (redis.eval as ScriptCall)(entry.lua, entry.keys, ...keys, ...args) as Promise<RawReply>;
  });
}

/** A raw reply of `file`, decoded. */
export function decodeReply<N extends ScriptName>(file: N, reply: RawReply): ScriptResult<N> {
  return defined.get(file)!.decode(reply) as ScriptResult<N>;
}

/** Calls a script registered by defineScripts, with exactly the keys its name says; its decoded result. */
export async function runScript<N extends ScriptName>(
  redis: RedisClient,
  file: N,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): Promise<ScriptResult<N>> {
  return decodeReply(file, await runScriptRaw(redis, file, keys, args));
}

// --- the board's scripts ---

/** What a commit did: committed (or an earlier commit of the same reqId), or why not. */
export type CommitResult =
  | {
      readonly ok: true;
      rev: number;
      /** The reply's result, as JSON text built by the script. */
      resultText: string;
      /** True when a reqId was seen before and nothing was applied. */
      duplicate: boolean;
    }
  | ScriptFailure<'compareFailed' | 'fenced' | 'missingKey' | 'noMeta' | 'backlog' | 'reqIdReused'>;

interface ReadResult {
  rev: number;
  epoch: string;
  record: StoredRecord | null;
}

interface ListResult {
  rev: number;
  epoch: string;
  more: boolean;
  items: KeyRecord<RawJson>[];
  /** Key records the script read (absent ones included). */
  read: number;
}

/** A result's revision: the first "rev" in it (results put it before any value). */
export function revisionOf(resultText: string): number {
  return Number(/"rev":(\d+)/.exec(resultText)?.[1] ?? 0);
}

function decodeCommit(raw: RawReply): CommitResult {
  const reply = raw as ScriptReply;
  const status = reply[0];
  if (status === 1) return { ok: true, rev: Number(reply[1]), resultText: String(reply[2]), duplicate: false };
  if (status === 2) {
    const resultText = String(reply[2]);
    return { ok: true, rev: revisionOf(resultText), resultText, duplicate: true };
  }
  return decodeFailure(reply) as CommitResult;
}

function decodeRead(raw: RawReply): ReadResult {
  const reply = raw as ScriptReply;
  return { rev: Number(reply[0]), epoch: String(reply[1]), record: parseRecord(String(reply[2])) };
}

function decodeList(raw: RawReply): ListResult {
  const reply = raw as ScriptReply;
  const items: KeyRecord<RawJson>[] = [];
  for (let i = 3; i + 1 < reply.length; i += 2) {
    const record = parseRecord(String(reply[i + 1]));
    if (record) items.push(toKeyRecord(String(reply[i]), record));
  }
  return { rev: Number(reply[0]), epoch: String(reply[1]), more: reply[2] === 1, items, read: (reply.length - 3) / 2 };
}

const BOARD_SCRIPTS: readonly AnyScriptDefinition[] = [
  scriptIn(boardScripts, 'commit-6', decodeCommit),
  scriptIn(boardScripts, 'read-2', decodeRead),
  scriptIn(boardScripts, 'list-3', decodeList),
  scriptIn(boardScripts, 'create-board-1', (raw) => {
    const reply = raw as ScriptReply;
    return { created: reply[0] === 1, epoch: String(reply[1]) };
  }),
];
