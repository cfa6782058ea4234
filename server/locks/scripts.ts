import type { ScriptFailure } from '../board/script-failures.js';
import { defineScripts, scriptIn, scriptsFolder, type AnyScriptDefinition, type RedisClient, type ScriptEntry } from '../board/scripts.js';
import { boardWriteScript, okOr } from '../deadlines/scripts.js';

/** The lock scripts: acquire, extend and release write `$locks/<name>` through the board's write path (see deadlines/scripts.ts). */

/** Taken: the token, its expiry, and whether the deadline is the board's earliest (the global index must then be lowered). */
type AcquireResult = { readonly ok: true; token: number; expiresAt: number; register: boolean } | ScriptFailure<'heldByAnother' | 'noMeta'>;

declare module '../board/scripts.js' {
  interface ScriptRegistry {
    'lock-acquire-9': ScriptEntry<9, AcquireResult>;
    'lock-extend-9': ScriptEntry<9, { readonly ok: true; expiresAt: number } | ScriptFailure<'fenced' | 'noMeta'>>;
    'lock-release-9': ScriptEntry<9, { readonly ok: true } | ScriptFailure<'fenced' | 'noMeta'>>;
    /** Whether the resource still held the hold's value (and was deleted). */
    'lock-let-go-1': ScriptEntry<1, boolean>;
  }
}

const folder = scriptsFolder(import.meta.url);
const RELEASED = Object.freeze({ ok: true as const });

const LOCK_SCRIPTS: readonly AnyScriptDefinition[] = [
  boardWriteScript(folder, 'lock-acquire-9', (reply) =>
    okOr(reply, (r) => ({ ok: true as const, token: Number(r[1]), expiresAt: Number(r[2]), register: r[3] === 1 })),
  ),
  boardWriteScript(folder, 'lock-extend-9', (reply) => okOr(reply, (r) => ({ ok: true as const, expiresAt: Number(r[1]) }))),
  boardWriteScript(folder, 'lock-release-9', (reply) => okOr(reply, () => RELEASED)),
  scriptIn(folder, 'lock-let-go-1', (reply) => reply === 1),
];

export function defineLockScripts(redis: RedisClient): void {
  defineScripts(redis, LOCK_SCRIPTS);
}
