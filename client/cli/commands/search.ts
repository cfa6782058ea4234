import type { SearchResult } from '../../sdk/client.js';
import { boolFlag, intFlag, noMorePositionals, positional, stringFlag, stringsFlag } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';

type Item = SearchResult['items'][number];

/** A highlight as a terminal shows it: matched words between « and ». */
function marked(text: string, marks: ReadonlyArray<readonly number[]>): string {
  let out = '';
  let at = 0;
  for (const [start = 0, end = 0] of marks) {
    out += `${text.slice(at, start)}«${text.slice(start, end)}»`;
    at = end;
  }
  return out + text.slice(at);
}

function formatItem(item: Item): string[] {
  const head = `${item.key}  rev ${item.rev}  v${item.version}  score ${item.score.toFixed(4)}`;
  return [head, ...item.highlights.map((h) => `  ${h.path === '' ? '' : `${h.path}: `}${marked(h.text, h.marks)}`)];
}

export const searchCommand: Command = {
  name: 'search',
  usage: 'search <board> <query> [--pattern P]... [--at-rev N | --history [--from-rev N] [--to-rev N]] [--min-rev N] [--limit N] [--after C]',
  summary: 'Full-text search of a board: best matches first, with highlights (--json: the reply).',
  details: [
    'The query is web-search syntax: words, "an exact phrase", -excluded, or. A misspelt word still finds close ones.',
    '--history searches every past value; --at-rev the board as it was then. --min-rev waits until the index holds that revision.',
    'When more matches remain, a note on stderr gives the --after cursor of the next page.',
  ],
  options: {
    pattern: { type: 'string', multiple: true },
    'at-rev': { type: 'string' },
    history: { type: 'boolean' },
    'from-rev': { type: 'string' },
    'to-rev': { type: 'string' },
    'min-rev': { type: 'string' },
    limit: { type: 'string' },
    after: { type: 'string' },
  },
  async run(ctx, line) {
    const board = positional(line, 0, 'board');
    const query = positional(line, 1, 'query');
    noMorePositionals(line, 2);
    const patterns = stringsFlag(line, 'pattern');
    const atRev = intFlag(line, 'at-rev', 0);
    const fromRev = intFlag(line, 'from-rev', 0);
    const toRev = intFlag(line, 'to-rev', 0);
    const minRev = intFlag(line, 'min-rev', 0);
    const limit = intFlag(line, 'limit', 1, 100);
    const after = stringFlag(line, 'after');
    const client = await ctx.connect();
    const result = await client.search(board, query, {
      ...(patterns.length > 0 ? { patterns } : {}),
      ...(atRev === undefined ? {} : { atRev }),
      ...(boolFlag(line, 'history') ? { history: true } : {}),
      ...(fromRev === undefined ? {} : { fromRev }),
      ...(toRev === undefined ? {} : { toRev }),
      ...(minRev === undefined ? {} : { minRev }),
      ...(limit === undefined ? {} : { limit }),
      ...(after === undefined ? {} : { after }),
    });
    if (result.fuzzy) ctx.out.note('(no exact match: showing close words)');
    if (ctx.out.json) ctx.out.result(result, () => '');
    else for (const item of result.items) ctx.out.result(item, () => formatItem(item));
    if (result.items.length === 0) ctx.out.note('(no match)');
    if (result.more && result.next !== undefined) ctx.out.note(`(more matches: --after ${result.next})`);
    return ExitCode.OK;
  },
};
