import { z } from 'zod';
import { keyPath, revision } from '../../../shared/protocol/messages/common.js';
import type { BoardEvent } from '../../../shared/protocol/types.js';
import {
  anyJson,
  durableArg,
  eventOutput,
  fenceArg,
  ifVersionArg,
  keyArg,
  patchArg,
  recordFields,
  recordOutput,
  writeOptions,
  type BoardArg,
} from '../args.js';
import { tool, type ToolDefinition } from '../tool.js';

function eventFields(e: BoardEvent) {
  return {
    rev: e.rev,
    key: e.key,
    type: e.type,
    version: e.version,
    ...(e.value === undefined ? {} : { value: e.value }),
    ...(e.patch === undefined ? {} : { patch: e.patch }),
    actor: e.actor,
    ts: e.ts,
  };
}

/** Reading and writing keys: one protocol op per call. */
export function kvTools(board: BoardArg): ToolDefinition[] {
  return [
    tool({
      name: 'board_get',
      title: 'Read a key',
      description:
        'Reads one key of a board: its value, its version (use it as if_version to update safely) and the board revision `rev` the read reflects. A missing key is NOT_FOUND. Set at_rev to read the key as it was at an earlier revision.',
      action: 'read',
      annotations: { readOnlyHint: true, idempotentHint: true },
      input: { board, key: keyArg, at_rev: revision.optional().describe('Read the state as of this board revision.') },
      output: { ...recordOutput, rev: z.number().int().describe('The board revision this read reflects.') },
      async run(args, ctx) {
        const r = await ctx.api.request('get', {
          board: ctx.board(args.board),
          key: args.key,
          ...(args.at_rev === undefined ? {} : { atRev: args.at_rev }),
        });
        return { ...recordFields(r), rev: r.rev };
      },
    }),
    tool({
      name: 'board_list',
      title: 'List keys',
      description:
        'Lists the keys of a board that start with `prefix` (a plain string prefix; "" for all), in byte order, with values. When `more` is true, call again with `after` set to the last key returned.',
      action: 'read',
      annotations: { readOnlyHint: true, idempotentHint: true },
      input: {
        board,
        prefix: z.string().max(512).optional().describe('Only keys starting with this string (default: all keys).'),
        limit: z.number().int().min(1).max(1_000).optional().describe('At most this many keys (default 100).'),
        after: z.string().max(512).optional().describe('Continue after this key (exclusive), from a previous page.'),
        at_rev: revision.optional().describe('List the keys as of this board revision.'),
      },
      output: { items: z.array(z.strictObject(recordOutput)), rev: z.number().int(), more: z.boolean() },
      async run(args, ctx) {
        const r = await ctx.api.request('list', {
          board: ctx.board(args.board),
          prefix: args.prefix ?? '',
          limit: args.limit ?? 100,
          ...(args.after === undefined ? {} : { after: args.after }),
          ...(args.at_rev === undefined ? {} : { atRev: args.at_rev }),
        });
        return { items: r.items.map(recordFields), rev: r.rev, more: r.more };
      },
    }),
    tool({
      name: 'board_put',
      title: 'Write a key',
      description:
        "Sets a key to a JSON value. To avoid overwriting someone else's change, pass if_version = the version you read (0 = create only if absent): on a mismatch nothing is written and you get CONFLICT with the current value in details.current. Pass fence to write only while holding a lock.",
      action: 'write',
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
      input: {
        board,
        key: keyArg,
        value: anyJson.describe('The new value (any JSON).'),
        if_version: ifVersionArg,
        fence: fenceArg,
        durable: durableArg,
      },
      output: {
        version: z.number().int().describe("The key's new version."),
        rev: z.number().int().describe('The board revision of this write.'),
      },
      async run(args, ctx) {
        const r = await ctx.api.request('put', {
          board: ctx.board(args.board),
          key: args.key,
          value: args.value,
          ...writeOptions(args),
        });
        return { version: r.version, rev: r.rev };
      },
    }),
    tool({
      name: 'board_patch',
      title: 'Patch a key',
      description:
        'Applies an RFC 6902 JSON Patch to a key\'s value and returns the result. Without if_version it is applied atomically to the latest value, so concurrent appends (op "add", path "/items/-") never lose each other. A failing "test" op is CONFLICT; a missing key is NOT_FOUND.',
      action: 'write',
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
      input: { board, key: keyArg, patch: patchArg, if_version: ifVersionArg, fence: fenceArg, durable: durableArg },
      output: { version: z.number().int(), rev: z.number().int(), value: z.unknown().describe('The value after the patch.') },
      async run(args, ctx) {
        const r = await ctx.api.request('patch', {
          board: ctx.board(args.board),
          key: args.key,
          patch: args.patch,
          ...writeOptions(args),
        });
        return { version: r.version, rev: r.rev, value: r.value };
      },
    }),
    tool({
      name: 'board_delete',
      title: 'Delete a key',
      description: 'Deletes a key (NOT_FOUND if it does not exist). Pass if_version to delete only the version you read.',
      action: 'write',
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
      input: { board, key: keyArg, if_version: ifVersionArg, fence: fenceArg, durable: durableArg },
      output: { rev: z.number().int() },
      async run(args, ctx) {
        const r = await ctx.api.request('delete', { board: ctx.board(args.board), key: args.key, ...writeOptions(args) });
        return { rev: r.rev };
      },
    }),
    tool({
      name: 'board_txn',
      title: 'Write several keys atomically',
      description:
        'Commits several writes as one revision, only if every compare holds ({key, version}: the key is at that version; 0 = absent). If any compare fails nothing is written: CONFLICT with details.failed listing them. ops: {op:"put",key,value} | {op:"patch",key,patch} | {op:"delete",key}, each with an optional if_version.',
      action: 'write',
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
      input: {
        board,
        compare: z
          .array(z.strictObject({ key: keyPath, version: revision }))
          .max(1_000)
          .optional()
          .describe('Conditions, all of which must hold.'),
        ops: z
          .array(
            z.discriminatedUnion('op', [
              z.strictObject({ op: z.literal('put'), key: keyPath, value: anyJson, if_version: revision.optional() }),
              z.strictObject({ op: z.literal('patch'), key: keyPath, patch: patchArg, if_version: revision.optional() }),
              z.strictObject({ op: z.literal('delete'), key: keyPath, if_version: revision.optional() }),
            ]),
          )
          .min(1)
          .max(1_000)
          .describe('The writes, at most one per key.'),
        fence: fenceArg,
        durable: durableArg,
      },
      output: {
        rev: z.number().int(),
        results: z.array(z.strictObject({ version: z.number().int().optional(), value: z.unknown().optional() })).describe('One per op, in order.'),
      },
      async run(args, ctx) {
        const ops = args.ops.map((o) => {
          const version = o.if_version === undefined ? {} : { ifVersion: o.if_version };
          if (o.op === 'put') return { op: 'put' as const, key: o.key, value: o.value, ...version };
          if (o.op === 'patch') return { op: 'patch' as const, key: o.key, patch: o.patch, ...version };
          return { op: 'delete' as const, key: o.key, ...version };
        });
        const r = await ctx.api.request('txn', {
          board: ctx.board(args.board),
          compare: args.compare ?? [],
          ops,
          ...writeOptions(args),
        });
        return {
          rev: r.rev,
          results: r.results.map((x) => ({
            ...(x.version === undefined ? {} : { version: x.version }),
            ...(x.value === undefined ? {} : { value: x.value }),
          })),
        };
      },
    }),
    tool({
      name: 'board_history',
      title: 'Read the change log',
      description:
        'Returns the changes of a board (or of one key), oldest first: who wrote what at which revision. from_rev and to_rev are inclusive; when `more` is true, call again from the last rev + 1.',
      action: 'read',
      annotations: { readOnlyHint: true, idempotentHint: true },
      input: {
        board,
        key: keyArg.optional().describe("Only this key's changes."),
        from_rev: revision.optional(),
        to_rev: revision.optional(),
        limit: z.number().int().min(1).max(1_000).optional().describe('At most this many events (default 100).'),
      },
      output: { events: z.array(eventOutput), more: z.boolean() },
      async run(args, ctx) {
        const r = await ctx.api.request('history', {
          board: ctx.board(args.board),
          limit: args.limit ?? 100,
          ...(args.key === undefined ? {} : { key: args.key }),
          ...(args.from_rev === undefined ? {} : { fromRev: args.from_rev }),
          ...(args.to_rev === undefined ? {} : { toRev: args.to_rev }),
        });
        return { events: r.events.map(eventFields), more: r.more };
      },
    }),
    tool({
      name: 'boards',
      title: 'List boards',
      description: 'Lists the boards you may read (those with at least one write), with their current revision.',
      action: 'any',
      annotations: { readOnlyHint: true, idempotentHint: true },
      input: { prefix: z.string().max(64).optional().describe('Only boards whose name starts with this.') },
      output: { boards: z.array(z.strictObject({ board: z.string(), rev: z.number().int(), epoch: z.string() })), more: z.boolean() },
      async run(args, ctx) {
        const r = await ctx.api.request('boards', args.prefix === undefined ? {} : { prefix: args.prefix });
        return { boards: r.boards.map((b) => ({ board: b.board, rev: b.rev, epoch: b.epoch })), more: r.more === true };
      },
    }),
  ];
}
