import { z } from 'zod';
import { revision } from '../../../shared/protocol/messages/common.js';
import { SEARCH_MAX_LIMIT, SEARCH_MAX_QUERY } from '../../../shared/protocol/messages/index.js';
import { globPattern } from '../../../shared/protocol/messages/subscriptions.js';
import type { BoardArg } from '../args.js';
import { tool, type ToolDefinition } from '../tool.js';

/** Finding things on a board: the `search` op. */
export function searchTools(board: BoardArg): ToolDefinition[] {
  return [
    tool({
      name: 'board_search',
      title: 'Search a board',
      description:
        'Full-text search of a board\'s values, best matches first, with highlighted excerpts (`path` is where in the value the text is). The query is web-search syntax: words, "an exact phrase", -excluded, or. A misspelt word still finds close ones (the result then says fuzzy: true). Narrow with patterns (globs such as "notes/**"); set history: true to search every past value, at_rev to search the board as it was, min_rev to a revision you just wrote to be sure it is searchable. When `more` is true, call again with after = next.',
      action: 'read',
      annotations: { readOnlyHint: true, idempotentHint: true },
      input: {
        board,
        query: z.string().min(1).max(SEARCH_MAX_QUERY).describe('What to find, e.g. `deploy "rollback plan" -draft`.'),
        patterns: z
          .array(globPattern)
          .min(1)
          .max(64)
          .optional()
          .describe('Only keys matching one of these (exact keys or globs: * one segment, ** any depth).'),
        history: z.boolean().optional().describe('Search every value each key has had, not only the current ones.'),
        from_rev: revision.optional().describe('With history: from this revision (inclusive).'),
        to_rev: revision.optional().describe('With history: up to this revision (inclusive).'),
        at_rev: revision.optional().describe('Search the board as it was at this revision.'),
        min_rev: revision.optional().describe('Wait until the index holds this revision (e.g. the rev of your last write).'),
        limit: z.number().int().min(1).max(SEARCH_MAX_LIMIT).optional().describe('At most this many matches (default 10).'),
        after: z.string().min(1).max(2_048).optional().describe('The `next` of a previous call, for the next page.'),
      },
      output: {
        items: z.array(
          z.strictObject({
            key: z.string(),
            rev: z.number().int().describe('The revision of the matching value.'),
            version: z.number().int(),
            score: z.number(),
            highlights: z.array(z.strictObject({ path: z.string(), text: z.string(), marks: z.array(z.array(z.number().int()).length(2)) })),
          }),
        ),
        rev: z.number().int().describe('The revision the search reflects.'),
        more: z.boolean(),
        next: z.string().optional().describe('Pass as `after` for the next page.'),
        fuzzy: z.boolean().optional().describe('True when nothing matched exactly and close words were used.'),
      },
      async run(args, ctx) {
        const r = await ctx.api.request('search', {
          board: ctx.board(args.board),
          query: args.query,
          limit: args.limit ?? 10,
          ...(args.patterns === undefined ? {} : { patterns: args.patterns }),
          ...(args.history === undefined ? {} : { history: args.history }),
          ...(args.from_rev === undefined ? {} : { fromRev: args.from_rev }),
          ...(args.to_rev === undefined ? {} : { toRev: args.to_rev }),
          ...(args.at_rev === undefined ? {} : { atRev: args.at_rev }),
          ...(args.min_rev === undefined ? {} : { minRev: args.min_rev }),
          ...(args.after === undefined ? {} : { after: args.after }),
        });
        return {
          items: r.items.map((i) => ({
            key: i.key,
            rev: i.rev,
            version: i.version,
            score: i.score,
            highlights: i.highlights.map((h) => ({ path: h.path, text: h.text, marks: h.marks.map((m) => [m[0] ?? 0, m[1] ?? 0]) })),
          })),
          rev: r.rev,
          more: r.more,
          ...(r.next === undefined ? {} : { next: r.next }),
          ...(r.fuzzy ? { fuzzy: true } : {}),
        };
      },
    }),
  ];
}
