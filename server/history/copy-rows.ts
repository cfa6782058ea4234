import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { EventRecord } from '../board/event-codec.js';

/** The `events` columns in the order a COPY row lists them. */
const EVENT_COLUMNS = 'board, rev, key, pos, type, version, value, patch, actor, ts, raw';

const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A text value as COPY's text format wants it: backslash, tab and line breaks escaped; null as \N. */
function field(value: string | null): string {
  if (value === null) return '\\N';
  return SPECIAL.test(value) ? value.replace(SPECIALS, (c) => ESCAPES[c]!) : value;
}

/** About this many characters of rows go to the socket per write; Postgres ingests one while the next is built. */
const CHUNK_CHARS = 64 * 1024;

/** Event rows of one board. */
export interface BoardRows {
  board: string;
  records: readonly EventRecord[];
}

/**
 * The rows as COPY text, cut into chunks of about CHUNK_CHARS. A chunk's lines are joined
 * once (one flat string to encode), not appended one by one (a chain the socket write
 * would have to flatten first).
 */
function* eventLines(rows: Iterable<BoardRows>): Generator<string> {
  let lines: string[] = [];
  let chars = 0;
  for (const { board, records } of rows) {
    const name = field(board);
    for (const r of records) {
      const line =
        `${name}\t${r.rev}\t${field(r.key)}\t${r.pos}\t${r.type}\t${r.version}\t` +
        `${field(r.value)}\t${field(r.patch)}\t${field(r.actor)}\t${r.ts}\t${field(r.raw)}\n`;
      lines.push(line);
      chars += line.length;
      if (chars >= CHUNK_CHARS) {
        yield lines.join('');
        lines = [];
        chars = 0;
      }
    }
  }
  if (lines.length > 0) yield lines.join('');
}

/**
 * Streams event rows into `table` (the events table or a staging twin of it) with COPY,
 * taking them from `rows` as the socket drains; resolves with the number of rows copied.
 */
export async function copyEvents(client: pg.PoolClient, table: string, rows: Iterable<BoardRows>): Promise<number> {
  const copy = client.query(copyFrom(`COPY ${table} (${EVENT_COLUMNS}) FROM STDIN`));
  await pipeline(Readable.from(eventLines(rows)), copy);
  return copy.rowCount;
}

/**
 * Inserts a handful of event rows in one statement, skipping any already present. COPY
 * waits for Postgres to accept the copy before it sends rows (two round trips): for a few
 * rows, a `durable` write waiting on them, one INSERT is quicker.
 */
export async function insertEventRows(client: pg.PoolClient, groups: readonly BoardRows[]): Promise<number> {
  const rows = groups.flatMap(({ board, records }) => records.map((record) => ({ board, record })));
  const column = <T>(pick: (row: { board: string; record: EventRecord }) => T) => rows.map(pick);
  const result = await client.query(
    `INSERT INTO events (${EVENT_COLUMNS})
     SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::int4[], $5::int2[], $6::int8[], $7::text[], $8::text[], $9::text[], $10::int8[], $11::text[])
     ON CONFLICT DO NOTHING`,
    [
      column((r) => r.board),
      column((r) => r.record.rev),
      column((r) => r.record.key),
      column((r) => r.record.pos),
      column((r) => r.record.type),
      column((r) => r.record.version),
      column((r) => r.record.value),
      column((r) => r.record.patch),
      column((r) => r.record.actor),
      column((r) => r.record.ts),
      column((r) => r.record.raw),
    ],
  );
  return result.rowCount ?? 0;
}
