import {
  defineScripts,
  scriptIn,
  scriptsFolder,
  type AnyScriptDefinition,
  type RawReply,
  type RedisClient,
  type ScriptEntry,
  type ScriptReply,
} from '../board/scripts.js';
import { decodeFailure, type ScriptFailure } from '../board/script-failures.js';

/** The history's scripts: the persister's group and watermark, and a board's rebuild from Postgres. */

/** The consumer group reads the board's stream from `watermark` on. */
type HistoryGroupResult = { readonly ok: true; watermark: number; epoch: string; epochRev: number; rev: number } | ScriptFailure<'noMeta'>;

/** `claimed`: this rebuild holds the board's lock; `alive`: the board has meta, nothing to do. */
type RebuildBeginResult = 'claimed' | 'alive' | ScriptFailure<'heldByAnother'>;

declare module '../board/scripts.js' {
  interface ScriptRegistry {
    /** Whether meta holds the watermark now (false: the board is missing or in another epoch). */
    'set-watermark-1': ScriptEntry<1, boolean>;
    'rebuild-begin-5': ScriptEntry<5, RebuildBeginResult>;
    'rebuild-load-3': ScriptEntry<3, { readonly ok: true; written: number } | ScriptFailure<'fenced'>>;
    'rebuild-finish-2': ScriptEntry<2, { readonly ok: true } | ScriptFailure<'fenced' | 'hasMeta'>>;
    'history-group-2': ScriptEntry<2, HistoryGroupResult>;
  }
}

const DONE = Object.freeze({ ok: true as const });
const folder = scriptsFolder(import.meta.url);

const HISTORY_SCRIPTS: readonly AnyScriptDefinition[] = [
  scriptIn(folder, 'set-watermark-1', (raw) => (raw as ScriptReply)[0] === 1),
  scriptIn(folder, 'rebuild-begin-5', (raw) => {
    const status = (raw as ScriptReply)[0];
    if (status === 1) return 'claimed';
    if (status === 0) return 'alive';
    return decodeFailure(raw as ScriptReply) as ScriptFailure<'heldByAnother'>;
  }),
  scriptIn(folder, 'rebuild-load-3', (raw) => {
    const reply = raw as ScriptReply;
    const written = Number(reply[0]);
    return written >= 0 ? { ok: true as const, written } : (decodeFailure(reply) as ScriptFailure<'fenced'>);
  }),
  scriptIn(folder, 'rebuild-finish-2', (raw) => {
    const reply = raw as ScriptReply;
    return reply[0] === 1 ? DONE : (decodeFailure(reply) as ScriptFailure<'fenced' | 'hasMeta'>);
  }),
  scriptIn(folder, 'history-group-2', decodeGroup),
];

function decodeGroup(raw: RawReply): HistoryGroupResult {
  const reply = raw as ScriptReply;
  const watermark = Number(reply[0]);
  if (watermark < 0) return decodeFailure(reply) as ScriptFailure<'noMeta'>;
  return { ok: true, watermark, epoch: String(reply[1]), epochRev: Number(reply[2]), rev: Number(reply[3]) };
}

export function defineHistoryScripts(redis: RedisClient): void {
  defineScripts(redis, HISTORY_SCRIPTS);
}
