import type { Revision } from '../board/revision.js';
import { decodeEntry, type EventRecord } from './event-codec.js';

const TYPE_PUT = '"type":"put","version":';
const TYPE_DELETE = '"type":"delete","version":';

/** The number a text is, when the text is exactly how JavaScript writes that number; else null. */
function canonicalNumber(text: string): number | null {
  const n = Number(text);
  return Number.isFinite(n) && String(n) === text ? n : null;
}

/**
 * `decodeEntry` for an event of the commit script's shape, without building the event
 * again to compare: the columns are slices of the JSON at the separators, so encoding
 * them gives the JSON back exactly when the version and the ts are written as
 * JavaScript writes numbers. Null for anything else (`decodeEntry` then takes it).
 */
function decodeScriptShape(json: string, head: string, rev: number, key: string, patchJson: string, pos: number): EventRecord | null {
  if (!json.startsWith(head) || json.charCodeAt(json.length - 1) !== 125 /* } */) return null;
  const actorAt = json.lastIndexOf(',"actor":');
  const tsAt = json.lastIndexOf(',"ts":');
  if (actorAt < head.length || tsAt <= actorAt) return null;
  const ts = canonicalNumber(json.slice(tsAt + 6, -1));
  if (ts === null) return null;
  let type = 0;
  let versionText: string;
  let value: string | null = null;
  if (json.startsWith(TYPE_PUT, head.length)) {
    const valueAt = json.indexOf(',"value":', head.length + TYPE_PUT.length);
    if (valueAt < 0 || valueAt > actorAt) return null;
    type = 1;
    versionText = json.slice(head.length + TYPE_PUT.length, valueAt);
    value = json.slice(valueAt + 9, actorAt);
  } else if (json.startsWith(TYPE_DELETE, head.length)) {
    versionText = json.slice(head.length + TYPE_DELETE.length, actorAt);
  } else return null;
  const version = canonicalNumber(versionText);
  if (version === null) return null;
  return {
    rev,
    key,
    pos,
    type,
    version,
    value,
    patch: patchJson === '' ? null : patchJson,
    actor: json.slice(actorAt + 9, tsAt),
    ts,
    raw: null,
  };
}

/** A revision's events as `events` rows: `revisionRecords`, with the common shape decoded without re-encoding. */
export function decodeRevision(revision: Revision): EventRecord[] {
  const out: EventRecord[] = new Array(revision.entries.length);
  const revHead = `{"rev":${revision.rev},"key":`;
  for (let i = 0; i < revision.entries.length; i++) {
    const entry = revision.entries[i]!;
    const head = `${revHead}${JSON.stringify(entry.key)},`;
    out[i] = decodeScriptShape(entry.eventJson, head, revision.rev, entry.key, entry.patchJson, i) ?? decodeEntry(revision.rev, entry, i);
  }
  return out;
}
