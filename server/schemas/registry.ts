import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { parseJson, stringifyJson } from '../../shared/protocol/json.js';
import type { SchemaDefinition } from '../../shared/protocol/types.js';
import { boardKeys } from '../board/keys.js';
import { parseRecord, type StoredRecord } from '../board/records.js';
import type { RedisClient } from '../board/scripts.js';
import { CompareFailed, type BoardStore } from '../board/store.js';
import { patternId } from './rules.js';

/**
 * Where schemas live. Each registered version is board state, `$schemas/<pattern-id>/v<n>`,
 * written through the one write path, so it is in the stream, in history, and back after
 * a rebuild of the board from Postgres. `$schemas/<pattern-id>/latest` names the newest
 * version; registrations compare-and-set it, so versions of a pattern strictly increase
 * even when two admins race. A hash under the board's hash tag indexes the patterns; it
 * is derived from the board state and rebuilt from it when Redis lost it.
 */

const SCHEMAS_PREFIX = '$schemas/';
/** Most patterns with schemas on one board. */
const MAX_PATTERNS = 100;

export const headKey = (id: string): string => `${SCHEMAS_PREFIX}${id}/latest`;
const versionKey = (id: string, n: number): string => `${SCHEMAS_PREFIX}${id}/v${n}`;

/** `$schemas/<id>/latest`. */
interface SchemaHead {
  pattern: string;
  schemaVersion: number;
  registeredAt: number;
}

/** `$schemas/<id>/v<n>`: the `schema.get` result, stored as it is answered. */
export type StoredSchema = SchemaDefinition;

/** A stored version with its migration steps as JSON text (parsed afresh for each value migrated). */
export interface SchemaVersionText {
  def: StoredSchema;
  /** The schema as plain JSON (numbers as doubles), for ajv. */
  plainSchema: unknown;
  stepsText: string | null;
  /** The revision that registered it. */
  modRev: number;
}

function parseVersion(record: StoredRecord): SchemaVersionText {
  const parsed = parseJson(record.valueText);
  const def = parsed.value as StoredSchema;
  const plainSchema = parsed.lossless ? (JSON.parse(record.valueText) as StoredSchema).schema : def.schema;
  return { def, plainSchema, stepsText: def.migration ? stringifyJson(def.migration, parsed.lossless) : null, modRev: record.modRev };
}

export class SchemaRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly store: BoardStore,
  ) {}

  /** The newest version of every pattern on the board, with the version of its head record. */
  async heads(board: string): Promise<Array<SchemaHead & { headVersion: number }>> {
    const keys = boardKeys(board);
    let ids = Object.keys(await this.redis.hgetall(keys.schemas));
    if (ids.length === 0) ids = await this.reindex(board);
    if (ids.length === 0) return [];
    const records = await this.redis.hmget(keys.kv, ...ids.map(headKey));
    const heads: Array<SchemaHead & { headVersion: number }> = [];
    // An indexed pattern without a head is a registration that did not commit.
    for (const text of records) {
      const record = parseRecord(text);
      if (record) heads.push({ ...(JSON.parse(record.valueText) as SchemaHead), headVersion: record.version });
    }
    return heads;
  }

  /** The head record of one pattern (its version is what a registration compares). */
  async head(board: string, pattern: string): Promise<{ head: SchemaHead; version: number } | null> {
    const { record } = await this.store.read(board, headKey(patternId(pattern)));
    return record ? { head: JSON.parse(record.valueText) as SchemaHead, version: record.version } : null;
  }

  async version(board: string, pattern: string, n: number): Promise<SchemaVersionText | null> {
    const record = parseRecord(await this.redis.hget(boardKeys(board).kv, versionKey(patternId(pattern), n)));
    return record ? parseVersion(record) : null;
  }

  /**
   * Commits a new version and moves the head to it, if the head is still at `headVersion`
   * (0: the pattern had none); CONFLICT otherwise. Returns the revision.
   */
  async register(board: string, actorJson: string, def: StoredSchema, headVersion: number, lossless: boolean): Promise<number> {
    const id = patternId(def.pattern);
    const keys = boardKeys(board);
    if (headVersion === 0) {
      const count = await this.redis.hlen(keys.schemas);
      if (count >= MAX_PATTERNS && (await this.redis.hget(keys.schemas, id)) === null) {
        throw new BlackboardError(ErrorCode.TOO_LARGE, `a board holds schemas for at most ${MAX_PATTERNS} patterns`, {
          limit: MAX_PATTERNS,
        });
      }
    }
    // Indexed before it is committed, so no committed pattern is ever missing from the index.
    await this.redis.hset(keys.schemas, id, def.pattern);
    const head: SchemaHead = { pattern: def.pattern, schemaVersion: def.schemaVersion, registeredAt: def.registeredAt };
    try {
      const outcome = await this.store.commit({
        board,
        actorJson,
        shape: 'txn',
        compares: [{ key: headKey(id), version: headVersion }],
        ops: [
          { kind: 'put', key: versionKey(id, def.schemaVersion), valueText: stringifyJson(def, lossless) },
          { kind: 'put', key: headKey(id), valueText: JSON.stringify(head) },
        ],
      });
      return outcome.rev;
    } catch (err) {
      if (!(err instanceof CompareFailed)) throw err;
      throw new BlackboardError(ErrorCode.CONFLICT, `another version of ${def.pattern} was registered meanwhile; retry`, {
        pattern: def.pattern,
      });
    }
  }

  /** Rebuilds the index from the `$schemas/…/latest` keys of the board state; returns the pattern ids. */
  private async reindex(board: string): Promise<string[]> {
    const probe = await this.store.list(board, SCHEMAS_PREFIX, undefined, 1);
    if (probe.items.length === 0) return [];
    const index: Record<string, string> = {};
    let after: string | undefined;
    for (let page = 0; page < 1_000; page++) {
      const { items, more } = await this.store.list(board, SCHEMAS_PREFIX, after, 200);
      for (const item of items) {
        if (!item.key.endsWith('/latest')) continue;
        const head = JSON.parse(item.value.text) as SchemaHead;
        index[patternId(head.pattern)] = head.pattern;
      }
      if (!more || items.length === 0) break;
      after = items[items.length - 1]!.key;
    }
    if (Object.keys(index).length > 0) await this.redis.hset(boardKeys(board).schemas, index);
    return Object.keys(index);
  }
}
