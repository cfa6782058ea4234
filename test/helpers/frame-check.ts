import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { PROTOCOL_SCHEMA_PATH } from '../../scripts/gen-protocol-schema.js';

/**
 * Checks every reply and push a test receives against docs/protocol.schema.json, the file
 * clients in other languages are written against. Objects the file leaves open (results
 * may carry more fields than listed) are closed here, so that a field the server sends
 * but the schema does not name fails too. A frame that does not validate is recorded, and
 * the test that received it fails (see frame-check-setup.ts).
 */

type Json = Record<string, unknown>;

/** Closes every object schema that names its properties and says nothing of others. */
function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node))
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, closed(s)])) : closed(v);
  if ('properties' in out && !('additionalProperties' in out)) out.additionalProperties = false;
  return out;
}

let protocol: { ajv: Ajv2020; names: Set<string> } | null = null;
const validators = new Map<string, ValidateFunction>();

/** Compiled on first use: a test file pays only for the definitions its frames need. */
function validator(def: string): ValidateFunction {
  const found = validators.get(def);
  if (found) return found;
  const { ajv, names } = load();
  if (!names.has(def)) throw new Error(`docs/protocol.schema.json has no definition ${def}`);
  const compiled = ajv.getSchema(def)!;
  validators.set(def, compiled);
  return compiled;
}

/**
 * Each definition is added as a schema of its own (references rewritten to match), so
 * that a frame compiles only the definitions it needs rather than the whole document.
 */
function load(): { ajv: Ajv2020; names: Set<string> } {
  if (!protocol) {
    const document = closed(JSON.parse(readFileSync(PROTOCOL_SCHEMA_PATH, 'utf8'))) as Json;
    const defs = JSON.parse(JSON.stringify(document.$defs).replaceAll('"#/$defs/', '"')) as Record<string, Json>;
    // Strict, except that `required` in a oneOf branch may name properties declared beside it.
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
    for (const [name, schema] of Object.entries(defs)) ajv.addSchema({ ...schema, $id: name }, name);
    protocol = { ajv, names: new Set(Object.keys(defs)) };
  }
  return protocol;
}

/** Compiles the definitions most frames need, before a test runs, so that no test waits for it mid-way. */
export function warmUp(): void {
  for (const def of ['reply.ok', 'reply.error', 'push.events', 'push.progress', 'push.snapshot', 'result.get', 'result.put']) validator(def);
}

function hasDefinition(def: string): boolean {
  return load().names.has(def);
}

/** Frames that did not validate since the last `takeViolations()`. */
const violations: string[] = [];

export function takeViolations(): string[] {
  return violations.splice(0, violations.length);
}

function problems(def: string, value: unknown): string | null {
  const validate = validator(def);
  if (validate(value)) return null;
  return (validate.errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`)
    .join('; ');
}

/** One connection's view: which op each request id was, so its reply is checked against that op's result. */
export class FrameCheck {
  private readonly ops = new Map<number, string[]>();

  /** A frame the client sends (text as written on the socket). */
  sent(data: unknown): void {
    if (typeof data !== 'string') return;
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame === null || typeof frame !== 'object') return;
    const { id, op } = frame as Json;
    if (typeof id !== 'number' || typeof op !== 'string') return;
    const pending = this.ops.get(id) ?? [];
    pending.push(op);
    this.ops.set(id, pending);
  }

  /** A frame the server sent. */
  received(text: string): void {
    let frame: Json;
    try {
      frame = JSON.parse(text) as Json;
    } catch {
      violations.push(`a frame that is not JSON: ${text.slice(0, 200)}`);
      return;
    }
    let failure: string | null;
    try {
      failure = this.check(frame);
    } catch (err) {
      // Never lose the frame for the test: a check that cannot run is a failure of its own.
      failure = `the check failed: ${(err as Error).message}`;
    }
    if (failure) violations.push(`${failure}\n  frame: ${text.slice(0, 300)}`);
  }

  private check(frame: Json): string | null {
    if (typeof frame.push === 'string') {
      if (!hasDefinition(`push.${frame.push}`)) return `unknown push ${frame.push}`;
      return problems(`push.${frame.push}`, frame);
    }
    if (frame.ok === false) {
      if (typeof frame.id === 'number') this.settle(frame.id, this.ops.get(frame.id)?.[0]);
      const failure = problems('reply.error', frame);
      return failure && `error reply: ${failure}`;
    }
    const envelope = problems('reply.ok', frame);
    if (envelope) return `reply: ${envelope}`;
    // Replies to one id come in the order sent only per op; any op sent with that id may be the one answered.
    const ops = this.ops.get(frame.id as number) ?? [];
    if (ops.length === 0) return null;
    const found = ops.map((op) => [op, hasDefinition(`result.${op}`) ? problems(`result.${op}`, frame.result) : null] as const);
    const match = found.find(([, p]) => p === null);
    if (!match) return `result of ${found[0]![0]}: ${found[0]![1]}`;
    this.settle(frame.id as number, match[0]);
    return null;
  }

  private settle(id: number, op: string | undefined): void {
    const ops = this.ops.get(id);
    if (!ops || op === undefined) return;
    ops.splice(ops.indexOf(op), 1);
    if (ops.length === 0) this.ops.delete(id);
  }
}
