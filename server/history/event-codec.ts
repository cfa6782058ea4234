import { parseJson, stringifyJson } from '../../shared/protocol/json.js';
import type { Revision, RevisionEntry } from '../board/revision.js';

/** One event as the `events` table holds it. */
export interface EventRecord {
  rev: number;
  key: string;
  pos: number;
  /** 1 put, 0 delete. */
  type: number;
  version: number;
  value: string | null;
  patch: string | null;
  actor: string;
  ts: number;
  /** The event JSON verbatim when the columns cannot reproduce it. */
  raw: string | null;
}

/**
 * The event JSON exactly as the commit script builds it:
 * `{"rev":R,"key":K,"type":"put","version":V,"value":X,"actor":A,"ts":T}` (no value for deletes).
 */
export function encodeEvent(e: Omit<EventRecord, 'pos' | 'patch'>): string {
  if (e.raw !== null) return e.raw;
  const head = `{"rev":${e.rev},"key":${JSON.stringify(e.key)},`;
  const tail = `"actor":${e.actor},"ts":${e.ts}}`;
  return e.type === 1
    ? `${head}"type":"put","version":${e.version},"value":${e.value ?? 'null'},${tail}`
    : `${head}"type":"delete","version":${e.version},${tail}`;
}

const TYPE_PUT = '"type":"put","version":';
const TYPE_DELETE = '"type":"delete","version":';

/**
 * Splits one event into columns without parsing its value (values stay text, so big
 * numbers and `[]` survive). The actor and ts are the last two fields, and `,"actor":`
 * cannot occur unescaped inside the actor string, so the last occurrence is the field.
 */
export function decodeEntry(rev: number, entry: RevisionEntry, pos: number): EventRecord {
  const json = entry.eventJson;
  const record: EventRecord = {
    rev,
    key: entry.key,
    pos,
    type: 0,
    version: 0,
    value: null,
    patch: entry.patchJson === '' ? null : entry.patchJson,
    actor: 'null',
    ts: 0,
    raw: null,
  };
  const head = `{"rev":${rev},"key":${JSON.stringify(entry.key)},`;
  const actorAt = json.lastIndexOf(',"actor":');
  const tsAt = json.lastIndexOf(',"ts":');
  if (json.startsWith(head) && actorAt > 0 && tsAt > actorAt) {
    record.actor = json.slice(actorAt + 9, tsAt);
    record.ts = Number(json.slice(tsAt + 6, -1));
    const rest = json.slice(head.length, actorAt);
    if (rest.startsWith(TYPE_PUT)) {
      const valueAt = rest.indexOf(',"value":');
      record.type = 1;
      record.version = Number(rest.slice(TYPE_PUT.length, valueAt));
      record.value = rest.slice(valueAt + 9);
    } else if (rest.startsWith(TYPE_DELETE)) {
      record.version = Number(rest.slice(TYPE_DELETE.length));
    }
  }
  if (!Number.isFinite(record.version) || !Number.isFinite(record.ts) || encodeEvent(record) !== json) {
    // Not the commit script's shape: keep it verbatim and salvage what the columns need.
    const parsed = safeParse(json);
    const fields = (parsed?.value ?? {}) as Record<string, unknown>;
    record.type = fields.type === 'delete' ? 0 : 1;
    record.version = Number(fields.version ?? 0) || 0;
    record.ts = Number(fields.ts ?? 0) || 0;
    record.value = record.type === 1 && parsed ? stringifyJson(fields.value ?? null, parsed.lossless) : null;
    record.raw = json;
  }
  return record;
}

function safeParse(json: string): { value: unknown; lossless: boolean } | null {
  try {
    const parsed = parseJson(json);
    return parsed.value !== null && typeof parsed.value === 'object' ? parsed : null;
  } catch {
    return null;
  }
}

export function revisionRecords(revision: Revision): EventRecord[] {
  return revision.entries.map((entry, i) => decodeEntry(revision.rev, entry, i));
}

/** Rebuilds stream-shaped revisions from table rows (ordered by rev, pos). */
export function toRevisions(records: EventRecord[], epoch: string): Revision[] {
  const out: Revision[] = [];
  let current: Revision | null = null;
  for (const r of records) {
    if (current === null || current.rev !== r.rev) {
      current = { rev: r.rev, epoch, entries: [] };
      out.push(current);
    }
    current.entries.push({ key: r.key, eventJson: encodeEvent(r), patchJson: r.patch ?? '' });
  }
  return out;
}
