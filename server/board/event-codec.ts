/**
 * The text of committed revisions and their events: built by the commit script
 * (scripts/commit-6.lua), read here, and nowhere else. Everything that reads or rebuilds
 * that text (the feed, the history persister, replay from Postgres, `history` reads) goes
 * through this module.
 *
 * ## The revision message
 *
 * One per revision, the same text in the board's stream (entry id `<rev>-0`, field `m`)
 * and on its channel (PUBLISH). Lines, joined by `\n`:
 *
 *     <rev>
 *     <epoch>
 *     <n>                      the number of events
 *     n times three lines:
 *     <key>                    raw (keys hold no control characters)
 *     <event JSON>             below
 *     <patch JSON or "">       the RFC 6902 patch that produced a `patch` write's value
 *
 * JSON text holds no raw line break, so the lines are safe.
 *
 * ## The event JSON
 *
 * Fields always in this order, no spaces:
 *
 *     {"rev":R,"key":K,"type":"put","version":V,"value":X,"actor":A,"ts":T}
 *     {"rev":R,"key":K,"type":"delete","version":0,"actor":A,"ts":T}
 *
 * R the revision; K the key as `JSON.stringify` writes it (the script gets it so); V the
 * key's new version (a delete says 0); X the value exactly as the writer's JSON text (it is
 * never parsed: big numbers and `[]` survive); A the writer's agent id as a JSON string;
 * T the Redis clock in milliseconds. Events stay text from the script to the socket: a
 * fan-out frame is built by concatenation, never re-serialized. Postgres keeps them as
 * columns (`EventRecord`) and `encodeEvent` gives back the same bytes; an event of any
 * other shape is kept verbatim in `raw`.
 */
import { parseJson, stringifyJson } from '../../shared/protocol/json.js';
import type { Revision, RevisionEntry } from './revision.js';

/** Parses one revision message (see the module comment). */
export function parseRevision(message: string): Revision {
  const lines = message.split('\n');
  const count = Number(lines[2]);
  const entries: RevisionEntry[] = [];
  for (let i = 0; i < count; i++) {
    const base = 3 + i * 3;
    entries.push({ key: lines[base] ?? '', eventJson: lines[base + 1] ?? '', patchJson: lines[base + 2] ?? '' });
  }
  return { rev: Number(lines[0]), epoch: lines[1] ?? '', entries };
}

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

/** The event JSON exactly as the commit script builds it (see the module comment). */
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

/** The number a text is, when the text is exactly how JavaScript writes that number; else null. */
function canonicalNumber(text: string): number | null {
  const n = Number(text);
  return Number.isFinite(n) && String(n) === text ? n : null;
}

/**
 * The number `text[from, to)` is, when it is exactly how JavaScript writes that number; else
 * null. Plain integers (what the script writes) are read digit by digit, without a string.
 */
function numberAt(text: string, from: number, to: number): number | null {
  const length = to - from;
  if (length >= 1 && length <= 15 && (length === 1 || text.charCodeAt(from) !== 48) /* 0 */) {
    let n = 0;
    let i = from;
    for (; i < to; i++) {
      const digit = text.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) break;
      n = n * 10 + digit;
    }
    if (i === to) return n;
  }
  return canonicalNumber(text.slice(from, to));
}

/** A character JSON.stringify writes escaped (a lone surrogate included). */
const ESCAPED_IN_JSON = /["\\\u0000-\u001f\ud800-\udfff]/;

/** Where `text` holds `<key as JSON>,` at `at`: the index after the comma, or -1. */
function afterKey(text: string, at: number, key: string): number {
  if (!ESCAPED_IN_JSON.test(key)) {
    const close = at + 1 + key.length;
    return text.charCodeAt(at) === 34 /* " */ && text.startsWith(key, at + 1) && text.charCodeAt(close) === 34 && text.charCodeAt(close + 1) === 44 /* , */
      ? close + 2
      : -1;
  }
  const quoted = JSON.stringify(key);
  return text.startsWith(quoted, at) && text.charCodeAt(at + quoted.length) === 44 ? at + quoted.length + 1 : -1;
}

/**
 * `decodeEntry` for an event of the commit script's shape, the event being `text[start, end)`
 * (a line of a revision message, or a whole event JSON), without building the event again to
 * compare: the columns are slices of the JSON at the separators, so encoding them gives the
 * JSON back exactly when the version and the ts are written as JavaScript writes numbers.
 * Null for anything else (`decodeEntry` then takes it). `revText` is `String(rev)`.
 *
 * Searches that start inside the span cannot run past its end: none of the separators holds
 * a line break, and the span is followed by one or by the end of the text.
 */
function decodeScriptShape(
  text: string,
  start: number,
  end: number,
  rev: number,
  revText: string,
  key: string,
  patchJson: string,
  pos: number,
): EventRecord | null {
  if (end - start < 2 || text.charCodeAt(end - 1) !== 125 /* } */ || !text.startsWith(REV_FIELD, start) || !text.startsWith(revText, start + REV_FIELD.length))
    return null;
  let at = start + REV_FIELD.length + revText.length;
  if (!text.startsWith(KEY_FIELD, at)) return null;
  at = afterKey(text, at + KEY_FIELD.length, key);
  if (at < 0) return null;
  const actorAt = text.lastIndexOf(',"actor":', end - 1);
  const tsAt = text.lastIndexOf(',"ts":', end - 1);
  if (actorAt < at || tsAt <= actorAt) return null;
  const ts = numberAt(text, tsAt + 6, end - 1);
  if (ts === null) return null;
  let type = 0;
  let version: number | null;
  let value: string | null = null;
  if (text.startsWith(TYPE_PUT, at)) {
    const valueAt = text.indexOf(',"value":', at + TYPE_PUT.length);
    if (valueAt < 0 || valueAt > actorAt) return null;
    type = 1;
    version = numberAt(text, at + TYPE_PUT.length, valueAt);
    value = text.slice(valueAt + 9, actorAt);
  } else if (text.startsWith(TYPE_DELETE, at)) {
    version = numberAt(text, at + TYPE_DELETE.length, actorAt);
  } else return null;
  if (version === null) return null;
  return {
    rev,
    key,
    pos,
    type,
    version,
    value,
    patch: patchJson === '' ? null : patchJson,
    actor: text.slice(actorAt + 9, tsAt),
    ts,
    raw: null,
  };
}

const REV_FIELD = '{"rev":';
const KEY_FIELD = ',"key":';

/**
 * A revision's events as `events` rows, in their order within it: the commit script's
 * shape decoded without re-encoding, anything else through `decodeEntry`.
 */
export function revisionRecords(revision: Revision): EventRecord[] {
  const out: EventRecord[] = new Array(revision.entries.length);
  const revText = String(revision.rev);
  for (let i = 0; i < revision.entries.length; i++) {
    const entry = revision.entries[i]!;
    const json = entry.eventJson;
    out[i] = decodeScriptShape(json, 0, json.length, revision.rev, revText, entry.key, entry.patchJson, i) ?? decodeEntry(revision.rev, entry, i);
  }
  return out;
}

/** A revision message taken straight to its rows (see revisionRows). */
interface RevisionRows {
  rev: number;
  epoch: string;
  records: EventRecord[];
}

/**
 * `revisionRecords(parseRevision(message))` in one pass over the message, without the
 * revision's intermediate objects (its line array, entries and their list) nor a string for
 * each event line: the history persister decodes every revision of every board, and what it
 * allocates per row is most of its cost.
 */
export function revisionRows(message: string): RevisionRows {
  const lines = new Lines(message);
  const rev = Number(lines.next());
  const epoch = lines.next();
  const count = Number(lines.next());
  const records: EventRecord[] = [];
  const revText = String(rev);
  for (let i = 0; i < count; i++) {
    const key = lines.next();
    const end = lines.skip();
    const start = lines.start;
    const patchJson = lines.next();
    records.push(
      decodeScriptShape(message, start, end, rev, revText, key, patchJson, i) ?? decodeEntry(rev, { key, eventJson: message.slice(start, end), patchJson }, i),
    );
  }
  return { rev, epoch, records };
}

/** A revision message's revision and epoch (its first two lines), as revisionRows reads them. */
export function revisionHead(message: string): { rev: number; epoch: string } {
  const lines = new Lines(message);
  const rev = Number(lines.next());
  return { rev, epoch: lines.next() };
}

/** The lines of a text one after the other; '' past the last (as `split('\n')[i] ?? ''`). */
class Lines {
  private at = 0;
  /** Where the line `skip` passed starts. */
  start = 0;

  constructor(private readonly text: string) {}

  next(): string {
    const end = this.skip();
    return this.text.slice(this.start, end);
  }

  /** Passes the next line; returns where it ends (it starts at `start`). */
  skip(): number {
    const { text, at } = this;
    if (at > text.length) {
      this.start = text.length;
      return text.length;
    }
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    this.start = at;
    this.at = end + 1;
    return end;
  }
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
