import { BlackboardError, ErrorCode, badRequest } from '../../shared/protocol/errors.js';
import { stringifyJson } from '../../shared/protocol/json.js';
import type { RequestFrame } from '../../shared/protocol/messages/index.js';
import type { SchemaDefinition, SchemaListResult, SchemaSetResult } from '../../shared/protocol/types.js';
import type { SchemaCatalog } from './catalog.js';
import type { MigrationPasses } from './passes.js';
import type { SchemaRegistry, StoredSchema } from './registry.js';
import type { SchemaCompiler } from './validators.js';

/** Versions `schema.list` names per pattern, newest first. */
const LIST_VERSIONS = 100;

interface SchemaAdminDeps {
  registry: SchemaRegistry;
  catalog: SchemaCatalog;
  compiler: SchemaCompiler;
  passes: MigrationPasses;
  /** Tells every node that the board's schemas changed. */
  announce(board: string): Promise<void>;
  maxValueBytes: number;
}

/** The same schema and migration, whatever the spelling of their numbers. */
function sameContent(a: { schema: unknown; migration?: unknown }, b: { schema: unknown; migration?: unknown }): boolean {
  return stringifyJson([a.schema, a.migration ?? null], true) === stringifyJson([b.schema, b.migration ?? null], true);
}

/** The `schema.*` ops: registering versions, reading them back, listing a board's patterns. */
export class SchemaAdmin {
  constructor(private readonly deps: SchemaAdminDeps) {}

  async set(frame: RequestFrame<'schema.set'>, actorJson: string, lossless: boolean): Promise<SchemaSetResult> {
    const { registry, compiler } = this.deps;
    const { board, pattern, schema, schemaVersion, migration } = frame;
    // Refused before anything is stored: a schema ajv cannot compile would refuse every write.
    const probe: unknown = JSON.parse(stringifyJson(schema, lossless));
    compiler.compile(probe);
    compiler.release(probe);

    const current = await registry.head(board, pattern);
    const latest = current?.head.schemaVersion ?? 0;
    if (schemaVersion <= latest) {
      const existing = await registry.version(board, pattern, schemaVersion);
      // The same registration again (a retry) is answered as the first was.
      if (existing && sameContent(existing.def, frame)) return { pattern, schemaVersion, rev: existing.modRev, created: false };
      throw new BlackboardError(ErrorCode.CONFLICT, `schemaVersion of ${pattern} must be greater than ${latest}`, {
        pattern,
        current: { schemaVersion: latest },
      });
    }
    if (latest === 0 && migration) throw badRequest(`the first schema version of ${pattern} has no version to migrate from`);

    const def: StoredSchema = {
      pattern,
      schemaVersion,
      ...(latest > 0 ? { previous: latest } : {}),
      schema,
      ...(migration ? { migration } : {}),
      registeredAt: Date.now(),
    };
    const size = Buffer.byteLength(stringifyJson(def, lossless));
    if (size > this.deps.maxValueBytes) {
      throw new BlackboardError(ErrorCode.TOO_LARGE, `schema is larger than ${this.deps.maxValueBytes} bytes`, {
        limit: this.deps.maxValueBytes,
      });
    }
    const rev = await registry.register(board, actorJson, def, current?.version ?? 0, lossless);
    await this.deps.announce(board);
    // Values of earlier versions are brought up to this one in the background.
    if (latest > 0) await this.deps.passes.schedule(board);
    return { pattern, schemaVersion, rev, created: true };
  }

  async get(frame: RequestFrame<'schema.get'>): Promise<SchemaDefinition> {
    const { board, pattern } = frame;
    const current = await this.deps.registry.head(board, pattern);
    if (!current) throw new BlackboardError(ErrorCode.NOT_FOUND, `no schema for ${pattern}`, { pattern });
    const n = frame.schemaVersion ?? current.head.schemaVersion;
    const version = await this.deps.catalog.version(board, pattern, n);
    if (!version) throw new BlackboardError(ErrorCode.NOT_FOUND, `${pattern} has no schema version ${n}`, { pattern, schemaVersion: n });
    return version.def;
  }

  async list(frame: RequestFrame<'schema.list'>): Promise<SchemaListResult> {
    const { board } = frame;
    const rules = await this.deps.catalog.load(board, false);
    const schemas = [];
    for (const rule of [...rules].sort((a, b) => (a.pattern < b.pattern ? -1 : 1))) {
      const versions: number[] = [];
      let n: number | undefined = rule.latest;
      while (n !== undefined && versions.length < LIST_VERSIONS) {
        versions.push(n);
        n = (await this.deps.catalog.version(board, rule.pattern, n))?.def.previous;
      }
      schemas.push({ pattern: rule.pattern, schemaVersion: rule.latest, versions });
    }
    return { schemas, migration: await this.deps.passes.state(board) };
  }
}
