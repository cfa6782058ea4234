import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { Extension } from '../extension.js';
import { SCHEMAS, type Services } from '../services.js';
import { SchemaAdmin } from './admin.js';
import { SchemaCatalog } from './catalog.js';
import { schemaHandlers } from './handlers.js';
import { SchemaNotices } from './notices.js';
import { migrateBoard, rulesSignature } from './pass.js';
import { MigrationPasses } from './passes.js';
import { SchemaRegistry } from './registry.js';
import { TypedValues } from './typed-values.js';
import { SchemaCompiler } from './validators.js';

interface SchemasExtensionOptions {
  /** How long a node trusts its cached rules of a board without a change notice (default 1 s). */
  rulesTtlMs?: number;
  /** How often each node looks for boards due for a migration pass (default 500 ms). */
  pollMs?: number;
}

const DEFAULT_RULES_TTL_MS = 1_000;
const DEFAULT_POLL_MS = 500;
const LEASE_MS = 30_000;
const RETRY_MS = 2_000;

/**
 * Typed boards: JSON Schemas per key pattern. Writes are validated against the newest
 * version of the pattern that governs their key, `get` migrates values on the fly, and a
 * background pass migrates stored values through the write path.
 */
export function schemasExtension(options: SchemasExtensionOptions = {}): Extension {
  let admin: SchemaAdmin | null = null;
  let passes: MigrationPasses | null = null;
  let notices: SchemaNotices | null = null;
  const rulesTtlMs = options.rulesTtlMs ?? DEFAULT_RULES_TTL_MS;

  return {
    name: 'schemas',
    handlers: schemaHandlers(() => {
      if (!admin) throw new BlackboardError(ErrorCode.UNAVAILABLE, 'schemas are not started');
      return admin;
    }),

    async init(services: Services) {
      const { redis, store, log, config } = services;
      const compiler = new SchemaCompiler();
      const registry = new SchemaRegistry(redis, store);
      const catalog = new SchemaCatalog(redis, registry, compiler, () => store, {
        rulesTtlMs,
        maxBoards: 10_000,
        maxVersions: 1_000,
      });
      const typed = new TypedValues(redis, catalog);
      const deps = { store, redis, catalog, typed, log, maxValueBytes: config.MAX_VALUE_BYTES };
      passes = new MigrationPasses(
        redis,
        {
          run: (board, keepGoing) => migrateBoard(deps, board, keepGoing),
          current: async (board) => {
            const rules = await catalog.load(board, false);
            return { signature: rulesSignature(rules), newestAt: Math.max(0, ...rules.map((r) => r.registeredAt)) };
          },
        },
        services.nodeId,
        log.child({ part: 'schema-migration' }),
        // The follow-up pass waits out every node's cached rules, with room for a slow write.
        { pollMs: options.pollMs ?? DEFAULT_POLL_MS, leaseMs: LEASE_MS, followUpMs: 2 * rulesTtlMs + 500, retryMs: RETRY_MS },
      );
      notices = new SchemaNotices(redis, (board) => catalog.invalidate(board), log);
      await notices.start(config);
      const announce = (board: string) => notices!.announce(board);
      admin = new SchemaAdmin({ registry, catalog, compiler, passes, announce, maxValueBytes: config.MAX_VALUE_BYTES });
      services.capabilities.provide(SCHEMAS, typed);
      passes.start();
      // Boards whose pass a stopped node left behind are picked up here too.
      passes.nudge();
    },

    async stop() {
      await passes?.stop();
      notices?.stop();
    },
  };
}
