import { z } from 'zod';
import { boardName, positiveInt, request, revision } from './common.js';
import { globPattern } from './subscriptions.js';

/** Longest `query` accepted (characters). */
export const SEARCH_MAX_QUERY = 512;
/** Most items one `search` reply holds. */
export const SEARCH_MAX_LIMIT = 100;
export const SEARCH_DEFAULT_LIMIT = 20;

const searchRequest = request('search', {
  board: boardName,
  /** Web search syntax: words, `"exact phrase"`, `-excluded`, `or`. */
  query: z.string().min(1).max(SEARCH_MAX_QUERY),
  /** Only `text` (full-text with a fuzzy fallback) for now; other modes may come. */
  mode: z.enum(['text']).optional(),
  /** Only keys matching one of these (exact keys or globs, as `subscribe`). */
  patterns: z.array(globPattern).min(1).max(64).optional(),
  /** Search the board as it was at this revision. */
  atRev: revision.optional(),
  /** Search every value each key has had (in `fromRev..toRev`), not only the current ones. */
  history: z.boolean().optional(),
  fromRev: revision.optional(),
  toRev: revision.optional(),
  limit: z.number().int().min(1).max(SEARCH_MAX_LIMIT).optional(),
  /** The `next` of the previous page. */
  after: z.string().min(1).max(2_048).optional(),
  /** Wait (bounded) until the index holds this revision. */
  minRev: revision.optional(),
});

export const searchRequests = { search: searchRequest } as const;

const searchHighlight = z.object({
  path: z.string().describe('JSON Pointer of the string in the value (`""` for a value that is a string).'),
  text: z.string().describe('An excerpt of that string.'),
  marks: z.array(z.array(z.number().int().min(0)).length(2)).describe('[start, end) offsets (UTF-16 code units) of the matching words in `text`.'),
});

const searchItem = z.object({
  key: z.string(),
  rev: positiveInt.describe('The revision of the matching value (its modRev; with `history`, the event’s revision).'),
  version: positiveInt,
  score: z.number().describe('Higher ranks first (Postgres ts_rank_cd).'),
  highlights: z.array(searchHighlight),
});

const searchResult = z.object({
  items: z.array(searchItem).describe('Best first; ties by key (and, with `history`, newest first).'),
  rev: revision.describe('The revision the index holds (with `atRev`: that revision).'),
  more: z.boolean().describe('More matches follow: ask again with `after` = `next`.'),
  next: z.string().optional().describe('Cursor for the next page, present when `more`.'),
  fuzzy: z.literal(true).optional().describe('Nothing matched exactly: these items match words close to the query’s.'),
});

export const searchResults = { search: searchResult } as const;
