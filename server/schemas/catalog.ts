import type { ValidateFunction } from 'ajv';
import { boardKeys } from '../board/keys.js';
import type { RedisClient } from '../board/scripts.js';
import type { BoardMaterializer } from '../board/store.js';
import { BoundedCache } from './lru.js';
import type { SchemaRegistry, SchemaVersionText } from './registry.js';
import { bySpecificity, makeRule, type SchemaRule } from './rules.js';
import type { SchemaCompiler } from './validators.js';

/**
 * What this node knows of each board's schemas. The rules of a board (its patterns and
 * their newest versions) are cached for a short time and dropped at once when any node
 * announces a change; schema versions never change once registered, so they and their
 * compiled validators stay cached (bounded) until evicted.
 */

interface CatalogOptions {
  /** How long a board's rules are trusted without a change notice (ms). */
  rulesTtlMs: number;
  maxBoards: number;
  /** Compiled schema versions kept per node. */
  maxVersions: number;
}

interface LoadedVersion extends SchemaVersionText {
  validate?: ValidateFunction;
}

interface CachedRules {
  rules: SchemaRule[];
  expiresAt: number;
}

export class SchemaCatalog {
  private readonly boards: BoundedCache<string, CachedRules>;
  private readonly loading = new Map<string, Promise<SchemaRule[]>>();
  private readonly versions: BoundedCache<string, LoadedVersion>;
  /** Bumped by each change notice, so a load that started before one is not cached. */
  private generation = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly registry: SchemaRegistry,
    private readonly compiler: SchemaCompiler,
    private readonly materializer: () => BoardMaterializer,
    private readonly options: CatalogOptions,
  ) {
    this.boards = new BoundedCache(options.maxBoards);
    this.versions = new BoundedCache(options.maxVersions, (_, v) => {
      if (v.validate) compiler.release(v.plainSchema);
    });
  }

  /**
   * The board's rules, most specific first. A write (`ensureBoard`) first brings back a
   * board whose state Redis lost, so it never sees "no schemas" for a board being rebuilt.
   */
  async rules(board: string, ensureBoard: boolean): Promise<SchemaRule[]> {
    const hit = this.boards.get(board);
    if (hit && hit.expiresAt > Date.now()) return hit.rules;
    const key = `${ensureBoard ? 'w' : 'r'}\n${board}`;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.load(board, ensureBoard).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  /** Reads the rules from Redis now, bypassing (and refreshing) the cache. */
  async load(board: string, ensureBoard: boolean): Promise<SchemaRule[]> {
    const generation = this.generation;
    const [exists, found] = await Promise.all([this.redis.exists(boardKeys(board).meta), this.registry.heads(board)]);
    let heads = found;
    let live = exists === 1;
    if (!live && ensureBoard) {
      await this.materializer().materialize(board);
      heads = await this.registry.heads(board);
      live = true;
    }
    const rules = heads.map((h) => makeRule(h.pattern, h.schemaVersion, h.registeredAt, h.headVersion)).sort(bySpecificity);
    if (live && generation === this.generation) {
      this.boards.set(board, { rules, expiresAt: Date.now() + this.options.rulesTtlMs });
    }
    return rules;
  }

  /** Forgets a board's rules (a schema changed somewhere). */
  invalidate(board: string): void {
    this.generation++;
    this.boards.delete(board);
  }

  /** One registered version of a pattern, or null if there is none. */
  async version(board: string, pattern: string, n: number): Promise<LoadedVersion | null> {
    const key = `${board}\n${pattern}\n${n}`;
    const hit = this.versions.get(key);
    if (hit) return hit;
    const loaded = await this.registry.version(board, pattern, n);
    if (!loaded) return null;
    // Another caller may have loaded it meanwhile: keep one copy, so its validator is compiled once.
    const again = this.versions.get(key);
    if (again) return again;
    this.versions.set(key, loaded);
    return loaded;
  }

  /** The version's compiled validator, compiled on first use. */
  validator(version: LoadedVersion): ValidateFunction {
    version.validate ??= this.compiler.compile(version.plainSchema);
    return version.validate;
  }
}
