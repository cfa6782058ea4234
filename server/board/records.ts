import { RawJson } from '../../shared/protocol/json.js';
import type { KeyRecord } from '../../shared/protocol/types.js';

/** A stored key: `version:createRev:modRev:<value JSON>` in the board's kv hash. */
export interface StoredRecord {
  version: number;
  createRev: number;
  modRev: number;
  valueText: string;
}

export function parseRecord(text: string | null | undefined): StoredRecord | null {
  if (!text) return null;
  const a = text.indexOf(':');
  const b = text.indexOf(':', a + 1);
  const c = text.indexOf(':', b + 1);
  return {
    version: Number(text.slice(0, a)),
    createRev: Number(text.slice(a + 1, b)),
    modRev: Number(text.slice(b + 1, c)),
    valueText: text.slice(c + 1),
  };
}

/** The wire form of a record, with the value spliced in verbatim when encoded. */
export function toKeyRecord(key: string, record: StoredRecord): KeyRecord<RawJson> {
  return {
    key,
    value: new RawJson(record.valueText),
    version: record.version,
    createRev: record.createRev,
    modRev: record.modRev,
  };
}
