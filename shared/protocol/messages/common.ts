import { z } from 'zod';

/** Field schemas shared by every op. Strict objects: an unknown field is BAD_REQUEST. */

export const MAX_KEY_LENGTH = 512;
export const BOARD_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
// Control characters would let a key forge line breaks in logs and internal framing.
const NO_CONTROL_CHARS = new RegExp('^[^\\u0000-\\u001f\\u007f]*$', 'u');
// A lone UTF-16 surrogate becomes U+FFFD once stored as UTF-8, aliasing another key. With
// the `u` flag a well-formed pair is one code point outside this range.
const NO_LONE_SURROGATES = new RegExp('^[^\\uD800-\\uDFFF]*$', 'u');
const NO_EMPTY_SEGMENTS = new RegExp('^(?!/)(?!.*//)(?!.*/$)', 'u');

export const boardName = z.string().regex(BOARD_PATTERN, 'board must match [a-z0-9][a-z0-9_-]{0,63}');

/** Expressed as patterns, so that the JSON Schema generated from it says the same. */
export const keyPath = z
  .string()
  .min(1)
  .max(MAX_KEY_LENGTH)
  .regex(NO_CONTROL_CHARS, 'key must not contain control characters')
  .regex(NO_EMPTY_SEGMENTS, 'key segments must not be empty')
  .regex(NO_LONE_SURROGATES, 'key must not contain a lone UTF-16 surrogate');

export const revision = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const positiveInt = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
export const reqId = z.string().min(1).max(128);
export const durability = z.enum(['memory', 'durable']);
export const lockName = z.string().min(1).max(256).regex(NO_CONTROL_CHARS, 'lock name must not contain control characters');
export const fence = z.strictObject({ lock: lockName, token: positiveInt });

/** Any JSON value. `undefined` never comes out of JSON.parse, so it means "absent". */
export const jsonValue = z.unknown().refine((v) => v !== undefined, 'value is required');

export const requestId = z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);

/** Builds the schema of one request frame: `{id, op, ...args}`. */
export function request<Op extends string, Shape extends z.ZodRawShape>(op: Op, shape: Shape) {
  return z.strictObject({ id: requestId, op: z.literal(op), ...shape });
}
