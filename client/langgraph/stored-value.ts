import { createHash } from 'node:crypto';
import type { SerializerProtocol } from '@langchain/langgraph-checkpoint';
import { LangGraphBoardError, LangGraphErrorCode } from './errors.js';

/**
 * A serialized value as the board holds it. JSON (what LangGraph's serializer makes of
 * almost everything) is kept as JSON, so the dashboard shows it; other types as base64.
 * A value too large for one board key is split: the key holds `{t, parts, size, digest}`
 * and the parts (base64 of consecutive byte ranges) sit at `<key>/<digest>.0`, `….1`, …
 * Parts are named by content, so a second writer of the same key never overwrites the
 * parts the first one's value refers to; they are written before the key that names them.
 */
export type StoredValue = { t: 'json'; v: unknown } | { t: string; b64: string } | { t: string; parts: number; size: number; digest: string };

/** The key of part `n` of a split value stored at `key`. */
export function partKey(key: string, stored: StoredValue, n: number): string {
  return 'digest' in stored ? `${key}/${stored.digest}.${n}` : `${key}/${n}`;
}

interface EncodedValue {
  stored: StoredValue;
  /** Base64 parts, when the value is split (stored at `partKey(key, stored, n)`). */
  parts: string[];
  /** About how many bytes `stored` takes as JSON. */
  bytes: number;
}

export interface ValueLimits {
  /** The server's MAX_VALUE_BYTES: no key this adapter writes is larger. */
  maxValueBytes: number;
}

/** Room left in a key for the wrapper around a value (`{"t":"json","v":…}` and the like). */
const WRAPPER_BYTES = 256;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}

export async function encodeValue(serde: SerializerProtocol, value: unknown, limits: ValueLimits): Promise<EncodedValue> {
  const [type, data] = await serde.dumpsTyped(value);
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  const room = limits.maxValueBytes - WRAPPER_BYTES;
  if (type === 'json' && bytes.byteLength <= room) {
    return { stored: { t: 'json', v: JSON.parse(decoder.decode(bytes)) as unknown }, parts: [], bytes: bytes.byteLength + 16 };
  }
  const base64Bytes = Math.ceil(bytes.byteLength / 3) * 4;
  if (base64Bytes <= room) return { stored: { t: type, b64: toBase64(bytes) }, parts: [], bytes: base64Bytes + type.length + 16 };
  // Whole base64 quanta per part, so every part decodes on its own.
  const partBytes = Math.floor(room / 4) * 3;
  if (partBytes <= 0) throw new LangGraphBoardError(LangGraphErrorCode.VALUE_TOO_LARGE, `maxValueBytes ${limits.maxValueBytes} is too small`);
  const parts: string[] = [];
  for (let at = 0; at < bytes.byteLength; at += partBytes) parts.push(toBase64(bytes.subarray(at, at + partBytes)));
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  return { stored: { t: type, parts: parts.length, size: bytes.byteLength, digest }, parts, bytes: 96 };
}

export function isStoredValue(value: unknown): value is StoredValue {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return typeof v.t === 'string' && ('v' in v || typeof v.b64 === 'string' || typeof v.parts === 'number');
}

/** How many parts a stored value was split into (0: none). */
export function partCount(stored: StoredValue): number {
  return 'parts' in stored ? stored.parts : 0;
}

/** The value back from its stored form; `parts` are the values of its part keys, in order. */
export async function decodeValue(serde: SerializerProtocol, stored: StoredValue, parts: readonly unknown[] = []): Promise<unknown> {
  if ('v' in stored) return serde.loadsTyped('json', JSON.stringify(stored.v));
  if ('b64' in stored) return serde.loadsTyped(stored.t, fromBase64(stored.b64));
  if (parts.length !== stored.parts || !parts.every((p) => typeof p === 'string')) {
    throw new LangGraphBoardError(LangGraphErrorCode.CORRUPT, `a split value has ${parts.length} of its ${stored.parts} parts`, {
      expected: stored.parts,
      found: parts.length,
    });
  }
  const chunks = (parts as string[]).map(fromBase64);
  const joined = new Uint8Array(stored.size);
  let at = 0;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.byteLength;
  }
  if (at !== stored.size) throw new LangGraphBoardError(LangGraphErrorCode.CORRUPT, `a split value has ${at} of its ${stored.size} bytes`);
  return serde.loadsTyped(stored.t, stored.t === 'json' ? decoder.decode(joined) : joined);
}
