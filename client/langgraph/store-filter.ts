import { LangGraphBoardError, LangGraphErrorCode } from './errors.js';

const OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin']);

function isOperatorObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0 && Object.keys(value).every((k) => k.startsWith('$'))
  );
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Ordered comparison: strings with strings (code-unit order, so ISO times work), anything else as numbers. */
function order(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  const x = Number(a);
  const y = Number(b);
  if (a === null || a === undefined || b === null || Number.isNaN(x) || Number.isNaN(y)) return undefined;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A field of the item's value: a top-level key, or a dotted path into nested objects. */
function field(value: Record<string, unknown>, name: string): unknown {
  if (name in value || !name.includes('.')) return value[name];
  let current: unknown = value;
  for (const part of name.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function matchOne(actual: unknown, op: string, expected: unknown): boolean {
  switch (op) {
    case '$eq':
      return same(actual, expected);
    case '$ne':
      return !same(actual, expected);
    case '$in':
      return Array.isArray(expected) && expected.some((e) => same(actual, e));
    case '$nin':
      return Array.isArray(expected) && !expected.some((e) => same(actual, e));
    default: {
      const c = order(actual, expected);
      if (c === undefined) return false;
      return op === '$gt' ? c > 0 : op === '$gte' ? c >= 0 : op === '$lt' ? c < 0 : c <= 0;
    }
  }
}

/** Refuses a filter with an unknown operator before any read, so bad input changes nothing and says why. */
export function checkFilter(filter: Record<string, unknown> | undefined): void {
  for (const [name, condition] of Object.entries(filter ?? {})) {
    if (!isOperatorObject(condition)) continue;
    for (const op of Object.keys(condition)) {
      if (!OPERATORS.has(op)) {
        throw new LangGraphBoardError(LangGraphErrorCode.INVALID_CONFIG, `unknown filter operator ${op} on ${name} (known: ${[...OPERATORS].join(', ')})`, {
          field: name,
          op,
        });
      }
    }
  }
}

/** Store search filter: each field equals the given value, or passes every operator given for it. */
export function matchesFilter(value: Record<string, unknown>, filter: Record<string, unknown> | undefined): boolean {
  for (const [name, condition] of Object.entries(filter ?? {})) {
    const actual = field(value, name);
    if (isOperatorObject(condition)) {
      for (const [op, expected] of Object.entries(condition)) if (!matchOne(actual, op, expected)) return false;
    } else if (!same(actual, condition)) return false;
  }
  return true;
}
