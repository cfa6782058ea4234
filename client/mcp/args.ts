import { z } from 'zod';
import { boardName, fence as fenceSchema, jsonValue, keyPath, revision } from '../../shared/protocol/messages/common.js';
import { jsonPatch } from '../../shared/protocol/messages/kv.js';

/**
 * Argument and result pieces shared by the tools. Tool arguments are snake_case; values
 * pass through untouched. The field schemas are the protocol's own (shared/protocol), so
 * a tool accepts exactly what the op it sends accepts.
 */

/** The `board` argument: required, or optional when the session has a default board. */
export function boardArg(defaultBoard: string | undefined) {
  return defaultBoard === undefined
    ? boardName.describe('Board name ([a-z0-9][a-z0-9_-]{0,63}).')
    : boardName.optional().describe(`Board name; default "${defaultBoard}".`);
}
export type BoardArg = ReturnType<typeof boardArg>;

export const keyArg = keyPath.describe('Key: a `/`-separated path such as `plan` or `tasks/42/result`.');
/** Any JSON value, `null` included; a missing one is BAD_REQUEST. */
export const anyJson = jsonValue.describe('Any JSON value.');
export const ifVersionArg = revision
  .optional()
  .describe('Commit only if the key is at this version (0: only if it does not exist); else CONFLICT with the current value in details.current.');
export const fenceArg = fenceSchema
  .optional()
  .describe('A lock you hold ({lock, token} from lock_acquire): the write commits only while you still hold it, else FENCED.');
export const durableArg = z.boolean().optional().describe('true: answer only once the write is in durable history (Postgres).');
export const patchArg = jsonPatch.describe('RFC 6902 JSON Patch, e.g. [{"op":"add","path":"/items/-","value":"x"}].');

/** Write options as the protocol names them. */
export function writeOptions(args: { if_version?: number | undefined; fence?: { lock: string; token: number } | undefined; durable?: boolean | undefined }) {
  return {
    ...(args.if_version === undefined ? {} : { ifVersion: args.if_version }),
    ...(args.fence === undefined ? {} : { fence: args.fence }),
    ...(args.durable ? { durability: 'durable' as const } : {}),
  };
}

export const recordOutput = {
  key: z.string(),
  value: z.unknown(),
  version: z.number().int().describe('1 at creation, +1 per change.'),
  create_rev: z.number().int(),
  mod_rev: z.number().int().describe('Board revision of the last change.'),
};

interface WireRecord {
  key: string;
  value: unknown;
  version: number;
  createRev: number;
  modRev: number;
}

export function recordFields(r: WireRecord) {
  return { key: r.key, value: r.value, version: r.version, create_rev: r.createRev, mod_rev: r.modRev };
}

export const eventOutput = z.strictObject({
  rev: z.number().int(),
  key: z.string(),
  type: z.enum(['put', 'delete']),
  version: z.number().int(),
  value: z.unknown().optional(),
  patch: z.array(z.unknown()).optional(),
  actor: z.string(),
  ts: z.number(),
});
