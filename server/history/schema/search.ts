import { sql } from 'drizzle-orm';
import { bigint, customType, index, integer, jsonb, pgTable, primaryKey, uuid } from 'drizzle-orm/pg-core';
import { byteText } from './columns.js';

/** A text-search document; written and matched in SQL only (to_tsvector, @@). */
const tsvector = customType<{ data: string; driverData: string }>({
  dataType() {
    return 'tsvector';
  },
});

/** The name of a text-search configuration (`simple`, `english`, …). */
const regconfig = customType<{ data: string; driverData: string }>({
  dataType() {
    return 'regconfig';
  },
});

/** The search index: one row per live key (its value's strings with their paths, and their tsvector). */
export const searchDocs = pgTable(
  'search_docs',
  {
    board: byteText('board').notNull(),
    key: byteText('key').notNull(),
    rev: bigint('rev', { mode: 'number' }).notNull(),
    version: bigint('version', { mode: 'number' }).notNull(),
    /** `[[path, text], …]`: what highlights are cut from. */
    texts: jsonb('texts').$type<[string, string][]>().notNull(),
    tsv: tsvector('tsv').notNull(),
    /** md5 of the text `tsv` was computed from: an unchanged text keeps its tsvector (migration 0003, which also sets fillfactor 80). */
    sourceMd5: uuid('source_md5'),
  },
  (t) => [primaryKey({ name: 'search_docs_pk', columns: [t.board, t.key] }), index('search_docs_tsv').using('gin', t.board, t.tsv)],
);

/** The words of a board's indexed values, for the close words of a misspelt query (pg_trgm). */
export const searchWords = pgTable(
  'search_words',
  {
    board: byteText('board').notNull(),
    word: byteText('word').notNull(),
  },
  (t) => [primaryKey({ name: 'search_words_pk', columns: [t.board, t.word] }), index('search_words_trgm').using('gin', t.board, t.word.op('gin_trgm_ops'))],
);

/** A board's text-search language, when it is not `simple`. */
export const searchBoards = pgTable('search_boards', {
  board: byteText('board').primaryKey(),
  language: regconfig('language').notNull().default(sql`'simple'`),
});

/** One row (id 1): the index layout the table holds, against the code's SEARCH_INDEX_VERSION. */
export const searchState = pgTable('search_state', {
  id: integer('id').primaryKey(),
  builtVersion: integer('built_version').notNull(),
});
