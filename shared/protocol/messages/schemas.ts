import { z } from 'zod';
import { MAX_PATTERN_STARS, patternStars } from '../globs.js';
import { boardName, jsonValue, keyPath, positiveInt, request } from './common.js';
import { jsonPatchOperation } from './kv.js';

/**
 * Typed boards: a JSON Schema per key pattern, versioned, with migrations between
 * versions declared as data (RFC 6902 operations and a few declarative transforms).
 */

/** A key pattern (the glob syntax of globs.ts). Server keys (`$…`) never have schemas. */
const schemaPattern = keyPath
  .refine((p) => !p.startsWith('$'), 'schema patterns cannot cover server keys ($…)')
  .refine((p) => patternStars(p) <= MAX_PATTERN_STARS, `a pattern may hold at most ${MAX_PATTERN_STARS} stars`);

/** A JSON Pointer (RFC 6901): "" is the whole value. */
const pointer = z
  .string()
  .max(1_024)
  .refine((p) => p === '' || p.startsWith('/'), 'a JSON pointer is "" or starts with "/"');

/** Declarative transforms: unlike RFC 6902 operations they do nothing when their source is absent. */
const transformSteps = [
  /** Moves the value at `from` to `path` (creating missing parent objects); nothing if `from` is absent. */
  z.strictObject({ op: z.literal('rename'), from: pointer, path: pointer }),
  /** Sets `value` at `path` (creating missing parent objects) unless something is there already. */
  z.strictObject({ op: z.literal('default'), path: pointer, value: jsonValue }),
  /** Removes the value at `path` if there is one. */
  z.strictObject({ op: z.literal('delete'), path: pointer }),
  /** Replaces the value at `path` with `{[key]: value}`; nothing if `path` is absent. */
  z.strictObject({ op: z.literal('wrap'), path: pointer, key: z.string().max(256) }),
] as const;

/** One step of a migration: an RFC 6902 operation or a declarative transform. */
const migrationStep = z.discriminatedUnion('op', [...jsonPatchOperation.options, ...transformSteps]);
export type MigrationStep = z.infer<typeof migrationStep>;

/** Turns a value of the previous schema version into one of this version, step by step. */
export const migration = z.array(migrationStep).min(1).max(1_000);

/** A JSON Schema (draft-07, as ajv v8 validates by default): an object or a boolean. */
export const jsonSchema = z.union([z.boolean(), z.record(z.string(), jsonValue)]);

const schemaSetRequest = request('schema.set', {
  board: boardName,
  pattern: schemaPattern,
  schema: jsonSchema,
  schemaVersion: positiveInt,
  migration: migration.optional(),
});

const schemaGetRequest = request('schema.get', {
  board: boardName,
  pattern: schemaPattern,
  schemaVersion: positiveInt.optional(),
});

const schemaListRequest = request('schema.list', { board: boardName });

export const schemaRequests = {
  'schema.set': schemaSetRequest,
  'schema.get': schemaGetRequest,
  'schema.list': schemaListRequest,
} as const;
