import type { ScriptFailure } from '../board/script-failures.js';
import { defineScripts, scriptIn, scriptsFolder, type AnyScriptDefinition, type RedisClient, type ScriptEntry } from '../board/scripts.js';
import { boardWriteScript, okOr } from '../deadlines/scripts.js';

/** The presence scripts: set and clear write `$presence/<agent>` through the board's write path (see deadlines/scripts.ts). */

type PresenceSetResult = { readonly ok: true; rev: number; expiresAt: number } | ScriptFailure<'noMeta'>;
type PresenceClearResult = { readonly ok: true; cleared: boolean; rev: number } | ScriptFailure<'noMeta'>;

declare module '../board/scripts.js' {
  interface ScriptRegistry {
    'presence-set-8': ScriptEntry<8, PresenceSetResult>;
    'presence-clear-8': ScriptEntry<8, PresenceClearResult>;
    /** The entry's new deadline (ms), or null when it is no longer the connection's. */
    'presence-refresh-2': ScriptEntry<2, number | null>;
  }
}

const folder = scriptsFolder(import.meta.url);
const NOT_CLEARED = Object.freeze({ ok: true as const, cleared: false, rev: 0 });

const PRESENCE_SCRIPTS: readonly AnyScriptDefinition[] = [
  boardWriteScript(folder, 'presence-set-8', (reply) => okOr(reply, (r) => ({ ok: true as const, rev: Number(r[1]), expiresAt: Number(r[2]) }))),
  boardWriteScript(folder, 'presence-clear-8', (reply) =>
    reply[0] === 0 ? NOT_CLEARED : okOr(reply, (r) => ({ ok: true as const, cleared: true, rev: Number(r[1]) })),
  ),
  scriptIn(folder, 'presence-refresh-2', (reply) => (reply === 0 ? null : Number(reply))),
];

export function definePresenceScripts(redis: RedisClient): void {
  defineScripts(redis, PRESENCE_SCRIPTS);
}
