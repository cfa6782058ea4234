import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { BlackboardError, ErrorCode, badRequest } from '../../shared/protocol/errors.js';

/**
 * JSON Schema validation with ajv (v8). One Ajv instance per node compiles each schema
 * version once; the compiled functions are cached with their definitions (catalog.ts),
 * which remove them from ajv again when they drop out of that bounded cache.
 */

interface ValueError {
  instancePath: string;
  message: string;
}

/** How many failing paths an INVALID reply lists. */
const MAX_ERRORS = 20;

export class SchemaCompiler {
  private readonly ajv = new Ajv({
    allErrors: true,
    // `$id`s of different boards and versions must not collide in one shared instance.
    addUsedSchema: false,
    // Unknown keywords (typos such as `requried`) are refused at schema.set; `format` is
    // not checked (no format vocabulary is installed), rather than refused.
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    validateFormats: false,
    logger: false,
  });

  /** Compiles a schema, or BAD_REQUEST saying why it is not one. */
  compile(schema: unknown): ValidateFunction {
    if (typeof schema === 'object' && schema !== null && (schema as { $async?: unknown }).$async === true) {
      throw badRequest('asynchronous schemas ($async) are not supported');
    }
    try {
      return this.ajv.compile(schema as object | boolean);
    } catch (err) {
      throw badRequest(`schema does not compile: ${(err as Error).message.split('\n')[0]}`, { reason: 'schema' });
    }
  }

  /** Forgets a compiled schema (its definition left the cache). */
  release(schema: unknown): void {
    if (typeof schema !== 'object' || schema === null) return;
    try {
      this.ajv.removeSchema(schema as object);
    } catch {
      // Already gone: nothing to release.
    }
  }
}

export function valueErrors(errors: readonly ErrorObject[] | null | undefined): ValueError[] {
  return (errors ?? []).slice(0, MAX_ERRORS).map((e) => ({ instancePath: e.instancePath, message: e.message ?? e.keyword }));
}

/** Parses stored or written JSON for validation; precision past 2^53 does not matter to a schema. */
export function parseForValidation(text: string): unknown {
  return JSON.parse(text) as unknown;
}

export function invalidValue(key: string, pattern: string, schemaVersion: number, errors: readonly ErrorObject[] | null | undefined): BlackboardError {
  const list = valueErrors(errors);
  const first = list[0];
  const where = first ? ` at ${first.instancePath || '/'}: ${first.message}` : '';
  return new BlackboardError(ErrorCode.INVALID, `value of ${key} breaks schema v${schemaVersion} of ${pattern}${where}`, {
    key,
    pattern,
    schemaVersion,
    errors: list,
  });
}
