import fc from 'fast-check';
import { z } from 'zod';
import { requestSchemas, type OpName } from '../../shared/protocol/messages/index.js';

/**
 * Frame arbitraries derived from the zod request schemas: each op's schema is turned into
 * JSON Schema by zod and walked here (objects with their required and optional fields,
 * enums, constants, integers with their bounds, arrays, unions). Fields whose meaning
 * matters to the run (boards, keys, values, patterns, waits) take domain arbitraries, so
 * that frames hit the same few boards and keys and no request waits long.
 */

type Schema = Record<string, unknown>;

export interface Domain {
  boards: readonly string[];
}

const segment = fc.constantFrom('a', 'b', 'c', 'x', 'é', '😀', 'k_1', 'deep', '…', 'Ω');
/** Keys on a few paths (so writes meet), with unicode edge cases among them. */
export const keyArb = fc.oneof(
  { weight: 6, arbitrary: fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/')) },
  { weight: 1, arbitrary: fc.constantFrom('ζ/\u200b', 'a/\ufeffb', 'e\u0301', 'tab\u00a0key', 'x'.repeat(300), '💥/🧨', '%2F/..', 'a/b/c/d/e/f/g/h') },
);

const smallJson = fc.jsonValue({ maxDepth: 3, depthSize: 'small' }).filter((v) => JSON.stringify(v).length < 2_000);
/** Any JSON, and some that is odd: huge and tiny numbers, unicode, empty containers. */
export const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: smallJson },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>([], {}, '', null, 0, -0, 1e308, -1e-308, 2 ** 53 + 1, '\u0000', '\ud83d\ude00', 'line\nbreak', { 'a/b': { '': [] } }),
  },
);

const globArb = fc.oneof(keyArb, fc.constantFrom('**', '*', 'a/*', 'a/**', '*/b', '**/c', '$**', '$locks/*', '$tasks/**', 'a/*/*/*', '*a*', 'a*b*c', 'é/**'));

const patchOp = fc.oneof(
  fc.record({ op: fc.constantFrom('add', 'replace'), path: fc.constantFrom('/a', '/b', '/a/0', '/-', '/x~1y', '/~0'), value: smallJson }),
  fc.record({ op: fc.constant('remove'), path: fc.constantFrom('/a', '/b', '/0') }),
  fc.record({ op: fc.constant('test'), path: fc.constantFrom('/a', ''), value: smallJson }),
  fc.record({ op: fc.constantFrom('move', 'copy'), from: fc.constantFrom('/a', '/b'), path: fc.constantFrom('/c', '/a/b') }),
);

/** Arbitraries for fields by name, wherever they appear. */
function fieldOverride(name: string, domain: Domain): fc.Arbitrary<unknown> | undefined {
  switch (name) {
    case 'board':
      return fc.constantFrom(...domain.boards);
    case 'key':
    case 'prefix':
      return keyArb;
    case 'value':
    case 'data':
    case 'meta':
    case 'checkpoint':
    case 'result':
      return valueArb;
    case 'patterns':
      return fc.array(globArb, { minLength: 1, maxLength: 3 });
    case 'patch':
      return fc.array(patchOp, { minLength: 1, maxLength: 3 });
    case 'waitMs':
      return fc.integer({ min: 0, max: 20 });
    case 'ttlMs':
    case 'leaseMs':
      return fc.integer({ min: 100, max: 5_000 });
    case 'delayMs':
    case 'backoffMs':
      return fc.integer({ min: 0, max: 50 });
    case 'limit':
      return fc.integer({ min: 1, max: 20 });
    case 'name':
    case 'queue':
      return fc.constantFrom('q', 'l1', 'build-1');
    case 'fromRev':
    case 'atRev':
    case 'toRev':
      return fc.integer({ min: 0, max: 60 });
    default:
      return undefined;
  }
}

/** A pattern without its lookaheads (`(?=…)`, `(?!…)`, nested groups included). */
function withoutLookaheads(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\') {
      out += pattern.slice(i, i + 2);
      i++;
    } else if (pattern.startsWith('(?=', i) || pattern.startsWith('(?!', i)) {
      let depth = 0;
      for (; i < pattern.length; i++) {
        if (pattern[i] === '\\') i++;
        else if (pattern[i] === '(') depth++;
        else if (pattern[i] === ')' && --depth === 0) break;
      }
    } else out += pattern[i];
  }
  return out;
}

/** Strings matching a pattern; fast-check cannot generate lookaheads, so they are dropped and checked after. */
function matching(pattern: string): fc.Arbitrary<string> {
  const full = new RegExp(pattern, 'u');
  return fc.stringMatching(new RegExp(withoutLookaheads(pattern))).filter((s) => full.test(s));
}

function fromSchema(schema: Schema, domain: Domain, depth: number): fc.Arbitrary<unknown> {
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (union) return fc.oneof(...union.map((s) => fromSchema(s, domain, depth)));
  switch (schema.type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set((schema.required ?? []) as string[]);
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, sub] of Object.entries(properties)) {
        if (name === 'id') continue;
        shape[name] = fieldOverride(name, domain) ?? fromSchema(sub, domain, depth + 1);
      }
      if (Object.keys(properties).length === 0) return depth > 2 ? fc.constant({}) : fc.dictionary(fc.string({ maxLength: 4 }), valueArb, { maxKeys: 3 });
      return fc.record(shape, { requiredKeys: [...required].filter((k) => k !== 'id') });
    }
    case 'array': {
      const items = (schema.items ?? {}) as Schema;
      return fc.array(fromSchema(items, domain, depth + 1), { minLength: Number(schema.minItems ?? 0), maxLength: Math.min(4, Number(schema.maxItems ?? 4)) });
    }
    case 'string':
      if (typeof schema.pattern === 'string') return matching(schema.pattern);
      return fc.string({ minLength: Math.max(1, Number(schema.minLength ?? 0)), maxLength: Math.min(16, Number(schema.maxLength ?? 16)) });
    case 'integer':
      return fc.integer({ min: Math.max(-1_000, Number(schema.minimum ?? -1_000)), max: Math.min(1_000, Number(schema.maximum ?? 1_000)) });
    case 'number':
      return fc.double({ min: Number(schema.minimum ?? -1e6), max: Number(schema.maximum ?? 1e6), noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return valueArb;
  }
}

const jsonSchemas = new Map<OpName, Schema>();
function jsonSchemaOf(op: OpName): Schema {
  let schema = jsonSchemas.get(op);
  if (!schema) {
    schema = z.toJSONSchema(requestSchemas[op], { unrepresentable: 'any' }) as Schema;
    jsonSchemas.set(op, schema);
  }
  return schema;
}

export const OPS = Object.keys(requestSchemas) as OpName[];

/** A frame for `op` (without `id`) that its schema accepts. */
export function frameArb(op: OpName, domain: Domain): fc.Arbitrary<Record<string, unknown>> {
  return fromSchema(jsonSchemaOf(op), domain, 0) as fc.Arbitrary<Record<string, unknown>>;
}

/** Writes most often (they change the boards the model follows), every op some of the time. */
export function anyFrameArb(domain: Domain): fc.Arbitrary<Record<string, unknown>> {
  const writes = new Set<OpName>(['put', 'patch', 'delete', 'txn']);
  const frames = fc.oneof(...OPS.map((op) => ({ weight: writes.has(op) ? 6 : 1, arbitrary: frameArb(op, domain) })));
  // A random fence, version or durability refuses almost every write: most writes go without.
  return fc.tuple(frames, fc.nat(9)).map(([frame, dice]) => {
    if (!writes.has(frame.op as OpName) || dice >= 7) return frame;
    const { fence: _fence, ifVersion: _ifVersion, durability: _durability, ...rest } = frame;
    if (Array.isArray(rest.ops)) rest.ops = (rest.ops as Array<Record<string, unknown>>).map(({ ifVersion: _v, ...op }) => op);
    if (Array.isArray(rest.compare) && dice < 5) rest.compare = [];
    return rest;
  });
}
