import { LosslessNumber } from '../../shared/protocol/json.js';

/**
 * Walks over parsed JSON that pay for themselves: each visited node is charged to a
 * meter, which throws once the request has spent its allowance, so no walk can run
 * longer than the budget it was given.
 */
export interface WorkMeter {
  charge(units: number): void;
}

type Json = unknown;

function isContainer(value: Json): value is Record<string, Json> | Json[] {
  return value !== null && typeof value === 'object' && !(value instanceof LosslessNumber);
}

/** JSON length of a scalar (escapes in strings are not counted: a lower bound for those). */
export function measureScalar(value: Json): number {
  return scalarSize(value);
}

function scalarSize(value: Json): number {
  if (value === null) return 4;
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'number':
      return String(value).length;
    case 'boolean':
      return value ? 4 : 5;
    default:
      return value instanceof LosslessNumber ? value.value.length : 4;
  }
}

/** Sets a member as an own property, `__proto__` included (plain assignment would set the prototype). */
export function setMember(target: Record<string, Json>, name: string, value: Json): void {
  if (name === '__proto__') Object.defineProperty(target, name, { value, writable: true, enumerable: true, configurable: true });
  else target[name] = value;
}

export function getMember(target: Record<string, Json>, name: string): Json {
  return Object.hasOwn(target, name) ? target[name] : undefined;
}

function shallowCopy(value: Record<string, Json> | Json[]): Record<string, Json> | Json[] {
  // Spread defines own properties (a `__proto__` member stays a member).
  return Array.isArray(value) ? value.slice() : { ...value };
}

/**
 * A deep copy of `value` and its JSON length, stopping as soon as the length passes `cap`
 * (then `size` is past `cap` and `copy` is unusable). Strings and lossless numbers are
 * immutable, so they are shared, not copied.
 */
export function copyMeasured(value: Json, cap: number, meter: WorkMeter): { copy: Json; size: number } {
  if (!isContainer(value)) return { copy: value, size: scalarSize(value) };
  const root = shallowCopy(value);
  let size = 0;
  const stack: Array<Record<string, Json> | Json[]> = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (Array.isArray(node)) {
      meter.charge(node.length + 1);
      size += 1 + Math.max(1, node.length);
      for (let i = 0; i < node.length; i++) {
        const item = node[i];
        if (isContainer(item)) {
          const child = shallowCopy(item);
          node[i] = child;
          stack.push(child);
        } else size += scalarSize(item);
      }
    } else {
      const names = Object.keys(node);
      meter.charge(names.length + 1);
      size += 1 + Math.max(1, names.length);
      for (const name of names) {
        const item = node[name];
        size += name.length + 3;
        if (isContainer(item)) {
          const child = shallowCopy(item);
          setMember(node, name, child);
          stack.push(child);
        } else size += scalarSize(item);
      }
    }
    if (size > cap) break;
  }
  return { copy: root, size };
}

/** JSON length of `value`, stopping once it passes `cap`. */
export function measure(value: Json, cap: number, meter: WorkMeter): number {
  if (!isContainer(value)) return scalarSize(value);
  let size = 0;
  const stack: Json[] = [value];
  while (stack.length > 0) {
    const node = stack.pop() as Record<string, Json> | Json[];
    if (Array.isArray(node)) {
      meter.charge(node.length + 1);
      size += 1 + Math.max(1, node.length);
      for (let i = 0; i < node.length; i++) {
        const item = node[i];
        if (isContainer(item)) stack.push(item);
        else size += scalarSize(item);
      }
    } else {
      const names = Object.keys(node);
      meter.charge(names.length + 1);
      size += 1 + Math.max(1, names.length);
      for (const name of names) {
        const item = node[name];
        size += name.length + 3;
        if (isContainer(item)) stack.push(item);
        else size += scalarSize(item);
      }
    }
    if (size > cap) break;
  }
  return size;
}

/** Deep equality of two JSON values (RFC 6902 `test`), charged per node compared. */
export function jsonEqual(a: Json, b: Json, meter: WorkMeter): boolean {
  // Two stacks of the same depth instead of a stack of pairs: no allocation per node.
  const left: Json[] = [a];
  const right: Json[] = [b];
  let visited = 0;
  try {
    while (left.length > 0) {
      const x = left.pop();
      const y = right.pop();
      visited++;
      if (x === y) continue;
      if (!isContainer(x) || !isContainer(y)) {
        if (!scalarsEqual(x, y)) return false;
        continue;
      }
      if (Array.isArray(x) !== Array.isArray(y)) return false;
      if (Array.isArray(x)) {
        const ys = y as Json[];
        if (x.length !== ys.length) return false;
        meter.charge(x.length);
        for (let i = 0; i < x.length; i++) {
          const xi = x[i];
          const yi = ys[i];
          if (xi === yi) continue;
          if (isContainer(xi) && isContainer(yi)) {
            left.push(xi);
            right.push(yi);
          } else if (!scalarsEqual(xi, yi)) return false;
        }
      } else {
        const xs = Object.keys(x);
        const yo = y as Record<string, Json>;
        const yCount = Object.keys(yo).length;
        meter.charge(xs.length + yCount);
        if (xs.length !== yCount) return false;
        for (const name of xs) {
          if (!Object.hasOwn(yo, name)) return false;
          left.push(x[name]);
          right.push(yo[name]);
        }
      }
      if (visited >= 1024) {
        meter.charge(visited);
        visited = 0;
      }
    }
    return true;
  } finally {
    meter.charge(visited);
  }
}

/** Equality of two values of which at least one is not a container (`===` already failed). */
function scalarsEqual(x: Json, y: Json): boolean {
  if (x instanceof LosslessNumber || y instanceof LosslessNumber) return String(x) === String(y);
  return false;
}
