import type { Logger } from 'pino';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { literalPrefix } from '../../shared/protocol/globs.js';
import type { MigrationPassReport } from '../../shared/protocol/types.js';
import { boardKeys } from '../board/keys.js';
import type { StoredRecord } from '../board/records.js';
import type { RedisClient } from '../board/scripts.js';
import { CompareFailed, type BoardStore } from '../board/store.js';
import type { SchemaCatalog } from './catalog.js';
import { headKey } from './registry.js';
import { governing, type SchemaRule } from './rules.js';
import type { TypedValues } from './typed-values.js';

/**
 * One background migration pass over a board: every value governed by a pattern whose
 * newest version is later than the value's is migrated and written back through the one
 * write path, so subscribers and history see each change, with actor `schema-migration`.
 * Each write is a compare-and-set on the version that was read; when a concurrent writer
 * wins, the key is read again and migrated from what that writer left (often already the
 * newest version), so no concurrent write is ever overwritten.
 */

const MIGRATION_ACTOR_JSON = JSON.stringify('schema-migration');
const PAGE = 200;
/** Compare-and-set attempts on one key before the pass leaves it to the next pass. */
const MAX_ATTEMPTS = 50;
/** Keys of one page migrated at the same time. */
const PARALLEL = 4;
/** Times one pass starts again with newer rules before it leaves the rest to a later pass. */
const MAX_RELOADS = 100;

interface PassDeps {
  store: BoardStore;
  redis: RedisClient;
  catalog: SchemaCatalog;
  typed: TypedValues;
  log: Logger;
  maxValueBytes: number;
}

export type PassOutcome = Omit<MigrationPassReport, 'finishedAt'> & {
  /** False when the pass stopped early or left keys behind; it is then run again. */
  complete: boolean;
  /** The rules the pass worked with ("pattern@version", sorted). */
  signature: string;
};

export function rulesSignature(rules: readonly SchemaRule[]): string {
  return rules
    .map((r) => `${r.pattern}@${r.latest}`)
    .sort()
    .join('\n');
}

export async function migrateBoard(deps: PassDeps, board: string, keepGoing: () => Promise<boolean>): Promise<PassOutcome> {
  let rules = await deps.catalog.load(board, false);
  const outcome: PassOutcome = { scanned: 0, migrated: 0, failed: 0, unversioned: 0, conflicts: 0, complete: true, signature: rulesSignature(rules) };
  if (rules.length === 0) return outcome;
  let after: string | undefined;
  for (let reloads = 0; ; ) {
    const prefix = literalPrefix(rules.map((r) => r.pattern));
    const page = await deps.store.list(board, prefix, after, PAGE);
    const work = page.items.flatMap((item) => {
      const rule = governing(rules, item.key);
      if (!rule) return [];
      const record: StoredRecord = { version: item.version, createRev: item.createRev, modRev: item.modRev, valueText: item.value.text };
      return [{ key: item.key, rule, record }];
    });
    const tags = work.length > 0 ? await deps.redis.hmget(boardKeys(board).schemaVersions, ...work.map((w) => w.key)) : [];
    let rulesChanged = false;
    for (let i = 0; i < work.length && !rulesChanged; i += PARALLEL) {
      const results = await Promise.all(
        work.slice(i, i + PARALLEL).map((w, j) => migrateKey(deps, board, w.rule, w.key, w.record, tags[i + j] ?? null, outcome)),
      );
      rulesChanged = results.includes('rules-changed');
    }
    if (rulesChanged) {
      // A newer version was registered meanwhile: go on with it, from the start of this page.
      if (++reloads > MAX_RELOADS) return { ...outcome, complete: false };
      rules = await deps.catalog.load(board, false);
      outcome.signature = rulesSignature(rules);
      continue;
    }
    outcome.scanned += work.length;
    const last = page.items[page.items.length - 1];
    if (!page.more || !last) return outcome;
    after = last.key;
    if (!(await keepGoing())) return { ...outcome, complete: false };
  }
}

async function migrateKey(
  deps: PassDeps,
  board: string,
  rule: SchemaRule,
  key: string,
  first: StoredRecord,
  firstTag: string | null,
  outcome: PassOutcome,
): Promise<'done' | 'rules-changed'> {
  let record: StoredRecord | null = first;
  let tag: string | null | undefined = firstTag;
  const head = headKey(rule.id);
  for (let attempt = 0; record; attempt++) {
    if (attempt === MAX_ATTEMPTS) {
      outcome.complete = false;
      return 'done';
    }
    const stored = await deps.typed.versionOf(board, key, record, rule, tag);
    if (stored === null) {
      outcome.unversioned++;
      return 'done';
    }
    if (stored >= rule.latest) return 'done';
    let text: string;
    try {
      text = await deps.typed.migrate(board, rule, key, record.valueText, stored, rule.latest);
      if (Buffer.byteLength(text) > deps.maxValueBytes) {
        throw new BlackboardError(ErrorCode.INVALID, `migrated value is larger than ${deps.maxValueBytes} bytes`);
      }
    } catch (err) {
      if (!(err instanceof BlackboardError && err.code === ErrorCode.INVALID)) throw err;
      outcome.failed++;
      deps.log.warn({ board, key, from: stored, to: rule.latest, reason: err.message, details: err.details }, 'value not migrated');
      return 'done';
    }
    try {
      await deps.store.commit({
        board,
        actorJson: MIGRATION_ACTOR_JSON,
        shape: 'put',
        // The value is still the one read, and rule.latest is still the newest version:
        // a migration never writes a version older than what readers are given.
        compares: [
          { key, version: record.version },
          { key: head, version: rule.headVersion },
        ],
        ops: [{ kind: 'put', key, valueText: text, schemaVersion: rule.latest }],
      });
      outcome.migrated++;
      return 'done';
    } catch (err) {
      if (!(err instanceof CompareFailed)) throw err;
      if (err.failed.some((f) => f.key === head)) return 'rules-changed';
      // A writer got there first: start again from what it left (null: it deleted the key).
      outcome.conflicts++;
      record = err.failed[0]?.record ?? null;
      tag = undefined;
    }
  }
  return 'done';
}
