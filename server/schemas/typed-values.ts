import type { GetReply } from '../services.js';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { RawJson } from '../../shared/protocol/json.js';
import { boardKeys } from '../board/keys.js';
import type { StoredRecord } from '../board/records.js';
import type { RedisClient } from '../board/scripts.js';
import type { SchemaService } from '../services.js';
import type { SchemaCatalog } from './catalog.js';
import { applyMigration, MigrationStepFailed } from './migrate.js';
import { governing, type SchemaRule } from './rules.js';
import { invalidValue, parseForValidation, valueErrors } from './validators.js';

/** Longest chain of versions one migration walks. */
const MAX_CHAIN = 1_000;
/** How many of a pattern's newest versions are tried to place a value that recorded no version. */
const MAX_CLASSIFY = 32;

/** `"<modRev>:<schemaVersion>"` from the board's schema-versions hash. */
function parseTag(tag: string | null): { modRev: number; schemaVersion: number } | null {
  if (!tag) return null;
  const colon = tag.indexOf(':');
  return { modRev: Number(tag.slice(0, colon)), schemaVersion: Number(tag.slice(colon + 1)) };
}

function invalid(message: string, details: Record<string, unknown>): BlackboardError {
  return new BlackboardError(ErrorCode.INVALID, message, details);
}

/**
 * Values of typed keys: validating writes against the newest schema version of the
 * governing pattern, telling which version a stored value conforms to, and migrating
 * values from one version to a later one.
 */
export class TypedValues implements SchemaService {
  constructor(
    private readonly redis: RedisClient,
    readonly catalog: SchemaCatalog,
  ) {}

  async check(board: string, key: string, valueText: string): Promise<number | undefined> {
    const rule = governing(await this.catalog.rules(board, true), key);
    if (!rule) return undefined;
    const version = await this.catalog.version(board, rule.pattern, rule.latest);
    if (!version) throw new BlackboardError(ErrorCode.UNAVAILABLE, `schema v${rule.latest} of ${rule.pattern} is missing; retry`);
    const validate = this.catalog.validator(version);
    if (!validate(parseForValidation(valueText))) throw invalidValue(key, rule.pattern, rule.latest, validate.errors);
    return rule.latest;
  }

  async present(board: string, key: string, record: StoredRecord, result: GetReply, requested: number | undefined): Promise<GetReply> {
    const rule = governing(await this.catalog.rules(board, false), key);
    if (!rule) {
      if (requested === undefined) return result;
      throw invalid(`no schema governs ${key}`, { key, schemaVersion: requested });
    }
    const stored = await this.versionOf(board, key, record, rule);
    const target = requested ?? rule.latest;
    if (stored === target) return { ...result, schemaVersion: target };
    if (stored === null) {
      if (requested === undefined) return result;
      throw invalid(`the value of ${key} conforms to no version of ${rule.pattern}`, { key, pattern: rule.pattern, schemaVersion: requested });
    }
    try {
      const text = await this.migrate(board, rule, key, record.valueText, stored, target);
      return { ...result, value: new RawJson(text), schemaVersion: target };
    } catch (err) {
      // A plain get still answers with what is stored, saying which version that is.
      if (requested === undefined && err instanceof BlackboardError && err.code === ErrorCode.INVALID) {
        return { ...result, schemaVersion: stored };
      }
      throw err;
    }
  }

  /**
   * The schema version a stored value conforms to: the one recorded with it, or, when the
   * record is missing or belongs to another write (a rebuild, a write before the pattern
   * had a schema), the newest version whose schema accepts it; null if none does.
   */
  async versionOf(board: string, key: string, record: StoredRecord, rule: SchemaRule, tag?: string | null): Promise<number | null> {
    const recorded = parseTag(tag === undefined ? await this.redis.hget(boardKeys(board).schemaVersions, key) : tag);
    if (recorded && recorded.modRev === record.modRev) return recorded.schemaVersion;
    let value: unknown;
    try {
      value = parseForValidation(record.valueText);
    } catch {
      return null;
    }
    let n: number | undefined = rule.latest;
    for (let tried = 0; n !== undefined && tried < MAX_CLASSIFY; tried++) {
      const version = await this.catalog.version(board, rule.pattern, n);
      if (!version) return null;
      if (this.catalog.validator(version)(value)) return n;
      n = version.def.previous;
    }
    return null;
  }

  /** A value of version `from` turned into one of version `to` (JSON text); INVALID when it cannot be. */
  async migrate(board: string, rule: SchemaRule, key: string, valueText: string, from: number, to: number): Promise<string> {
    if (from === to) return valueText;
    const where = { key, pattern: rule.pattern, from, schemaVersion: to };
    if (to < from) throw invalid(`no migration leads from v${from} of ${rule.pattern} back to v${to}`, where);
    const chain = [];
    for (let n = to; n !== from; ) {
      const version = await this.catalog.version(board, rule.pattern, n);
      if (!version) throw invalid(`${rule.pattern} has no schema version ${n}`, where);
      const previous = version.def.previous;
      if (!version.stepsText || previous === undefined || previous < from || chain.length >= MAX_CHAIN) {
        throw invalid(`no migration path leads from v${from} to v${to} of ${rule.pattern}`, where);
      }
      chain.push(version);
      n = previous;
    }
    const target = chain[0]!;
    let text = valueText;
    for (const version of [...chain].reverse()) {
      try {
        text = applyMigration(text, version.stepsText!);
      } catch (err) {
        if (!(err instanceof MigrationStepFailed)) throw err;
        throw invalid(`migrating ${key} to v${version.def.schemaVersion} of ${rule.pattern}: ${err.message}`, {
          ...where,
          failedAt: version.def.schemaVersion,
          step: err.step,
        });
      }
    }
    const validate = this.catalog.validator(target);
    if (!validate(parseForValidation(text))) {
      throw invalid(`the value of ${key} migrated to v${to} breaks that schema`, { ...where, errors: valueErrors(validate.errors) });
    }
    return text;
  }
}
