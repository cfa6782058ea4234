import { BlackboardError, ErrorCode, badRequest } from '../../shared/protocol/errors.js';
import { LosslessNumber } from '../../shared/protocol/json.js';
import type { JsonPatch } from '../../shared/protocol/messages/kv.js';
import { copyMeasured, getMember, jsonEqual, measure, measureScalar, setMember, type WorkMeter } from './json-walk.js';

/**
 * RFC 6902 with bounded work. A patch is applied one operation at a time, and before an
 * operation can make the document large it is measured: an upper bound of the document's
 * JSON length is kept up to date as operations run, a `copy` is measured (stopping at the
 * limit) before anything is copied, and the document is measured exactly only when the
 * bound passes the limit. Every node walked, copied or compared, and every array element
 * shifted, is charged to a PatchBudget shared by the whole request (a `txn` included).
 * So a patch that would grow past MAX_VALUE_BYTES, or spend more than its budget, is
 * refused with TOO_LARGE at the operation that crosses the line, never after the fact.
 */

/** Work one request's patches may do, as a multiple of MAX_VALUE_BYTES (in nodes visited). */
export const PATCH_WORK_FACTOR = 2;

export class PatchBudget implements WorkMeter {
  private spent = 0;
  readonly maxWork: number;

  constructor(
    readonly maxValueBytes: number,
    /** Told of each stored value parsed for the request (its length): the agent pays for it. */
    readonly onParse: (bytes: number) => void = () => undefined,
  ) {
    this.maxWork = PATCH_WORK_FACTOR * maxValueBytes;
  }

  get used(): number {
    return this.spent;
  }

  charge(units: number): void {
    this.spent += units;
    if (this.spent > this.maxWork) {
      throw new BlackboardError(ErrorCode.TOO_LARGE, `patch work passes its bound (${this.maxWork} steps)`, {
        reason: 'work',
        limit: this.maxWork,
      });
    }
  }
}

type Json = unknown;
type Container = Record<string, Json> | Json[];

function isContainer(value: Json): value is Container {
  return value !== null && typeof value === 'object' && !(value instanceof LosslessNumber);
}

/** JSON length of a scalar (0 for a container or nothing: only scalars are cheap to count). */
function scalarLength(value: Json): number {
  return value === undefined || isContainer(value) ? 0 : measureScalar(value);
}

function hasMembers(container: Container): boolean {
  if (Array.isArray(container)) return container.length > 0;
  for (const _ in container) return true;
  return false;
}

const ARRAY_INDEX = /^(0|[1-9][0-9]{0,9})$/;

function invalid(reason: string, message: string, index: number): BlackboardError {
  return badRequest(`patch cannot be applied: ${message} (operation ${index})`, { reason, index });
}

function parsePointer(pointer: string, index: number): string[] {
  if (pointer === '') return [];
  if (pointer[0] !== '/') throw invalid('OPERATION_PATH_INVALID', 'a path is "" or starts with "/"', index);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => (token.includes('~') ? token.replaceAll('~1', '/').replaceAll('~0', '~') : token));
}

class BoundedPatch {
  /** Upper bound of the document's JSON length. */
  private size: number;

  constructor(
    private doc: Json,
    initialSize: number,
    private readonly limit: number,
    private readonly meter: PatchBudget,
  ) {
    this.size = initialSize;
  }

  result(): Json {
    if (this.size > this.limit) this.ensureWithin(0);
    return this.doc;
  }

  apply(op: JsonPatch[number], index: number): void {
    const path = parsePointer(op.path, index);
    this.meter.charge(1 + path.length);
    switch (op.op) {
      case 'add':
        return this.insert(path, this.fromPatch(op.value), index, 'add');
      case 'replace':
        return this.insert(path, this.fromPatch(op.value), index, 'replace');
      case 'remove':
        this.detach(path, index, 'OPERATION_PATH_UNRESOLVABLE');
        return;
      case 'test': {
        const { found, value } = this.lookup(path, index, true);
        if (!found || !jsonEqual(value, op.value, this.meter)) {
          throw new BlackboardError(ErrorCode.CONFLICT, 'a patch test operation failed', { reason: 'test' });
        }
        return;
      }
      case 'move': {
        const from = parsePointer(op.from, index);
        if (op.from === op.path) {
          this.lookup(from, index, false, 'OPERATION_FROM_UNRESOLVABLE');
          return;
        }
        if (op.path.startsWith(`${op.from}/`)) throw invalid('OPERATION_MOVE_INTO_ITSELF', 'cannot move a value into itself', index);
        const value = this.detach(from, index, 'OPERATION_FROM_UNRESOLVABLE');
        // The value keeps its size; only its new name adds to the document.
        return this.insert(path, { value, size: 0 }, index, 'add');
      }
      case 'copy': {
        const from = parsePointer(op.from, index);
        const { value } = this.lookup(from, index, false, 'OPERATION_FROM_UNRESOLVABLE');
        // Measured (up to the limit) before anything is copied: a copy never builds more than the
        // limit, and one that could not fit even alone is refused before it is built.
        if (measure(value, this.limit, this.meter) > this.limit) throw this.tooLarge();
        const { copy, size: copied } = copyMeasured(value, this.limit, this.meter);
        return this.insert(path, { value: copy, size: copied }, index, 'add');
      }
    }
  }

  /** A value from the patch, copied (the patch is applied again on retries) and measured. */
  private fromPatch(value: Json): { value: Json; size: number } {
    const { copy, size } = copyMeasured(value, Number.MAX_SAFE_INTEGER, this.meter);
    return { value: copy, size };
  }

  /**
   * Refuses unless the document can take `adding` more characters. `replacing` is a
   * container the operation will drop: measured only if the bound alone says no.
   */
  private ensureWithin(adding: number, replacing?: Json): void {
    if (this.size + adding <= this.limit) return;
    if (adding > this.limit + (replacing === undefined ? 0 : this.limit)) throw this.tooLarge();
    this.size = measure(this.doc, this.limit + this.limit, this.meter);
    const freed = isContainer(replacing) ? measure(replacing, this.limit, this.meter) : 0;
    if (this.size + adding - freed > this.limit) throw this.tooLarge();
  }

  private tooLarge(): BlackboardError {
    return new BlackboardError(ErrorCode.TOO_LARGE, `the patched value would be larger than ${this.limit} bytes`, {
      reason: 'size',
      limit: this.limit,
    });
  }

  /** The container holding the last token of `path`. */
  private parentOf(path: readonly string[], index: number, reason = 'OPERATION_PATH_UNRESOLVABLE'): Container {
    let node = this.doc;
    for (let i = 0; i < path.length - 1; i++) {
      node = this.child(node, path[i]!, index, reason);
      if (node === undefined) throw invalid(reason, 'the path does not exist', index);
    }
    if (!isContainer(node)) throw invalid(reason, 'the path does not exist', index);
    return node;
  }

  private child(node: Json, token: string, index: number, reason: string): Json {
    if (Array.isArray(node)) {
      if (!ARRAY_INDEX.test(token)) throw invalid(reason, `"${token}" is not an array index`, index);
      return node[Number(token)];
    }
    if (isContainer(node)) return getMember(node as Record<string, Json>, token);
    return undefined;
  }

  private lookup(path: readonly string[], index: number, leafMayMiss: boolean, reason = 'OPERATION_PATH_UNRESOLVABLE'): { found: boolean; value: Json } {
    if (path.length === 0) return { found: true, value: this.doc };
    const parent = this.parentOf(path, index, reason);
    const value = this.child(parent, path[path.length - 1]!, index, reason);
    if (value === undefined && !leafMayMiss) throw invalid(reason, 'the path does not exist', index);
    return { found: value !== undefined, value };
  }

  private insert(path: readonly string[], item: { value: Json; size: number }, index: number, kind: 'add' | 'replace'): void {
    if (path.length === 0) {
      this.doc = item.value;
      // The old document is gone: the bound starts again from what replaced it (a moved
      // part, given with size 0, was counted in the old bound already).
      if (item.size > 0) this.size = item.size;
      return;
    }
    const parent = this.parentOf(path, index);
    const token = path[path.length - 1]!;
    // Where it goes is checked first: a patch that cannot apply is BAD_REQUEST whatever its size.
    let at = -1;
    if (Array.isArray(parent) && !(kind === 'add' && token === '-')) {
      if (!ARRAY_INDEX.test(token)) throw invalid('OPERATION_PATH_ILLEGAL_ARRAY_INDEX', `"${token}" is not an array index`, index);
      at = Number(token);
      if (kind === 'replace' && at >= parent.length) throw invalid('OPERATION_PATH_UNRESOLVABLE', 'the path does not exist', index);
      if (at > parent.length) throw invalid('OPERATION_VALUE_OUT_OF_BOUNDS', 'index past the end of the array', index);
    }
    const appends = Array.isArray(parent) ? kind === 'add' : !Object.hasOwn(parent, token);
    if (kind === 'replace' && appends) throw invalid('OPERATION_PATH_UNRESOLVABLE', 'the path does not exist', index);
    const old = appends ? undefined : Array.isArray(parent) ? parent[at] : parent[token];
    // A new member adds its name, quotes, colon and maybe a comma; a replaced scalar gives its length back.
    const comma = hasMembers(parent) ? 1 : 0;
    const overhead = appends ? (Array.isArray(parent) ? comma : token.length + 3 + comma) : -scalarLength(old);
    const grows = item.size + overhead;
    this.ensureWithin(grows, old);
    if (!Array.isArray(parent)) setMember(parent, token, item.value);
    else if (at === -1) parent.push(item.value);
    else if (kind === 'replace') parent[at] = item.value;
    else {
      this.meter.charge(1 + ((parent.length - at) >>> 6));
      parent.splice(at, 0, item.value);
    }
    this.size += grows;
  }

  /** Removes and returns the value at `path`. */
  private detach(path: readonly string[], index: number, reason: string): Json {
    if (path.length === 0) {
      const whole = this.doc;
      this.doc = null;
      return whole;
    }
    const parent = this.parentOf(path, index, reason);
    const token = path[path.length - 1]!;
    if (Array.isArray(parent)) {
      if (!ARRAY_INDEX.test(token) || Number(token) >= parent.length) throw invalid(reason, 'the path does not exist', index);
      const at = Number(token);
      this.meter.charge(1 + ((parent.length - at) >>> 6));
      const removed: Json = parent.splice(at, 1)[0];
      this.size -= scalarLength(removed);
      return removed;
    }
    if (!Object.hasOwn(parent, token)) throw invalid(reason, 'the path does not exist', index);
    const value = parent[token];
    delete parent[token];
    this.size -= scalarLength(value);
    return value;
  }
}

/**
 * Applies `patch` to `doc` (which it may change in place) and returns the new document.
 * `docSize` is the JSON length of `doc` (the stored text's length). Throws BAD_REQUEST
 * for an operation that cannot apply, CONFLICT (reason "test") for a failing `test`, and
 * TOO_LARGE (reason "size" or "work") as soon as a bound is passed.
 */
export function applyPatchBounded(doc: Json, docSize: number, patch: JsonPatch, limit: number, budget: PatchBudget): Json {
  const run = new BoundedPatch(doc, docSize, limit, budget);
  patch.forEach((op, index) => run.apply(op, index));
  return run.result();
}
