import { isSafeNumber, LosslessNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';

/**
 * JSON that keeps every digit. Values are any JSON and must round-trip exactly, but
 * JSON.parse rounds integers past 2^53. Text with a long run of digits is parsed again
 * keeping such numbers as LosslessNumber; everything else takes the fast native path.
 */

const LONG_DIGIT_RUN = /\d{16}/;

interface ParsedJson {
  value: unknown;
  lossless: boolean;
}

function parseNumber(text: string): number | LosslessNumber {
  return isSafeNumber(text) ? Number(text) : new LosslessNumber(text);
}

export function parseJson(text: string): ParsedJson {
  const value: unknown = JSON.parse(text);
  if (!hasLongDigitRun(text)) return { value, lossless: false };
  return { value: parseLossless(text), lossless: true };
}

/** Whether the text may hold numbers that JSON.parse would round (then parseLossless is needed). */
export function hasLongDigitRun(text: string): boolean {
  return LONG_DIGIT_RUN.test(text);
}

/** Parses keeping numbers past double precision as LosslessNumber (several times slower than JSON.parse). */
export function parseLossless(text: string): unknown {
  return losslessParse(text, null, parseNumber);
}

export function stringifyJson(value: unknown, lossless: boolean): string {
  if (!lossless) return JSON.stringify(value);
  return losslessStringify(value) ?? 'null';
}

/** Depth of nesting, stopping early once past `limit`. */
export function exceedsDepth(value: unknown, limit: number): boolean {
  return deeperThan(value, 1, limit);
}

/**
 * Walks without building anything (it runs on every frame): the recursion is as deep as
 * the nesting, and stops one level past `limit` (MAX_JSON_DEPTH is at most 1000).
 */
function deeperThan(node: unknown, depth: number, limit: number): boolean {
  if (node === null || typeof node !== 'object' || node instanceof LosslessNumber) return false;
  if (depth > limit) return true;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const child: unknown = node[i];
      if (child !== null && typeof child === 'object' && deeperThan(child, depth + 1, limit)) return true;
    }
    return false;
  }
  const record = node as Record<string, unknown>;
  for (const name in record) {
    if (!Object.hasOwn(record, name)) continue;
    const child = record[name];
    if (child !== null && typeof child === 'object' && deeperThan(child, depth + 1, limit)) return true;
  }
  return false;
}

/** JSON text that is spliced verbatim into an outgoing frame (a stored value). */
export class RawJson {
  constructor(readonly text: string) {}
  toJSON(): never {
    throw new Error('RawJson must be written with encodeJson');
  }
}

/** JSON.stringify that writes RawJson verbatim; used for replies carrying stored values. */
export function encodeJson(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (value instanceof LosslessNumber) return value.toString();
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : encodeJson(v))).join(',')}]`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${encodeJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

export { LosslessNumber };
