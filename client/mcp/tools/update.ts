import { z } from 'zod';
import { revision } from '../../../shared/protocol/messages/common.js';
import { BlackboardError, ErrorCode } from '../../../shared/protocol/errors.js';
import { anyJson, fenceArg, keyArg, type BoardArg } from '../args.js';
import { tool, type ToolDefinition } from '../tool.js';

interface Current {
  version: number;
  value?: unknown;
  modRev?: number;
}

function currentOf(err: BlackboardError): Current | null {
  const current = err.details?.current;
  if (typeof current !== 'object' || current === null) return null;
  const c = current as Record<string, unknown>;
  return typeof c.version === 'number'
    ? { version: c.version, ...('value' in c ? { value: c.value } : {}), ...(typeof c.modRev === 'number' ? { modRev: c.modRev } : {}) }
    : null;
}

/**
 * Compare-and-set with the model in the loop: read, let the model compute, write with
 * `ifVersion`. A conflict is an expected outcome here, not an error: the result carries
 * the value that won, so the model can recompute and call again without another read.
 */
export function updateTool(board: BoardArg): ToolDefinition {
  return tool({
    name: 'board_update',
    title: 'Update a key safely (compare-and-set)',
    description: [
      "Read-modify-write without losing anyone's update.",
      '1) Call with board and key only: you get the current value and version (version 0: the key does not exist).',
      '2) Compute the new value from it and call again with `value` and `version` = the version you read.',
      'If nobody changed the key meanwhile it is written: committed=true with the new version.',
      'If someone did, nothing is written: committed=false with the current value and version; recompute from those and call again with that version.',
    ].join(' '),
    action: 'write',
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
    input: {
      board,
      key: keyArg,
      value: anyJson.optional().describe('The new value. Leave it out to only read the current value and version.'),
      version: revision
        .optional()
        .describe('The version your new value is based on (from the previous call; 0 = the key must not exist). Required with `value`.'),
      fence: fenceArg,
    },
    output: {
      committed: z.boolean().describe('true: your value was written. false: nothing was written (a read, or someone changed the key first).'),
      key: z.string(),
      version: z.number().int().describe('After a commit, the new version; otherwise the current version (0: absent). Pass it with your next value.'),
      value: z.unknown().optional().describe('After a commit, the value written; otherwise the current value (absent when the key does not exist).'),
      rev: z.number().int().optional().describe('Board revision of the commit, or of the read.'),
    },
    async run(args, ctx) {
      const target = ctx.board(args.board);
      if (args.value === undefined) {
        try {
          const got = await ctx.api.request('get', { board: target, key: args.key });
          return { committed: false, key: args.key, version: got.version, value: got.value, rev: got.rev };
        } catch (err) {
          if (err instanceof BlackboardError && err.code === ErrorCode.NOT_FOUND) return { committed: false, key: args.key, version: 0 };
          throw err;
        }
      }
      if (args.version === undefined) {
        throw new BlackboardError(
          ErrorCode.BAD_REQUEST,
          'board_update with a value needs `version`: the version the value is based on (call once without a value to read it)',
          { field: 'version' },
        );
      }
      try {
        const put = await ctx.api.request('put', {
          board: target,
          key: args.key,
          value: args.value,
          ifVersion: args.version,
          ...(args.fence === undefined ? {} : { fence: args.fence }),
        });
        return { committed: true, key: args.key, version: put.version, value: args.value, rev: put.rev };
      } catch (err) {
        const current = err instanceof BlackboardError && err.code === ErrorCode.CONFLICT ? currentOf(err) : null;
        if (!current) throw err;
        return {
          committed: false,
          key: args.key,
          version: current.version,
          ...(current.version > 0 && 'value' in current ? { value: current.value } : {}),
        };
      }
    },
  });
}
