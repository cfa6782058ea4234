import { LosslessNumber } from '../../shared/protocol/json.js';

/**
 * The declarative transforms of a migration (rename, default, delete, wrap) on a parsed
 * document, addressed by JSON Pointers (RFC 6901). Unlike RFC 6902 operations they do
 * nothing when what they act on is absent, so one migration serves values that differ
 * in which optional fields they have.
 */

export type Transform =
  | { op: 'rename'; from: string; path: string }
  | { op: 'default'; path: string; value: unknown }
  | { op: 'delete'; path: string }
  | { op: 'wrap'; path: string; key: string };

type Container = Record<string, unknown> | unknown[];

/** Names that would reach an object's prototype rather than its own fields. */
const FORBIDDEN_TOKENS = new Set(['__proto__', 'constructor', 'prototype']);

function isContainer(value: unknown): value is Container {
  return value !== null && typeof value === 'object' && !(value instanceof LosslessNumber);
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`${pointer} is not a JSON pointer`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => {
      const token = t.replace(/~1/g, '/').replace(/~0/g, '~');
      if (FORBIDDEN_TOKENS.has(token)) throw new Error(`pointer token ${token} is not allowed`);
      return token;
    });
}

function arrayIndex(array: unknown[], token: string, forInsert: boolean): number | null {
  if (forInsert && token === '-') return array.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) return null;
  const index = Number(token);
  return index < array.length || (forInsert && index === array.length) ? index : null;
}

function child(container: Container, token: string): unknown {
  if (Array.isArray(container)) {
    const i = arrayIndex(container, token, false);
    return i === null ? undefined : container[i];
  }
  return Object.hasOwn(container, token) ? container[token] : undefined;
}

/** The container holding the last token, creating missing objects on the way when `create`. */
function parentOf(document: unknown, tokens: string[], create: boolean): Container | undefined {
  let node = document;
  for (const token of tokens.slice(0, -1)) {
    if (!isContainer(node)) return undefined;
    let next = child(node, token);
    if (next === undefined && create && !Array.isArray(node)) {
      next = {};
      node[token] = next;
    }
    node = next;
  }
  return isContainer(node) ? node : undefined;
}

function read(document: unknown, tokens: string[]): unknown {
  if (tokens.length === 0) return document;
  const parent = parentOf(document, tokens, false);
  return parent === undefined ? undefined : child(parent, tokens[tokens.length - 1]!);
}

/** Writes `value` at `tokens`; returns the (possibly new) document. */
function write(document: unknown, tokens: string[], value: unknown): unknown {
  if (tokens.length === 0) return value;
  const parent = parentOf(document, tokens, true);
  const last = tokens[tokens.length - 1]!;
  if (parent === undefined) throw new Error(`no object or array to hold /${tokens.join('/')}`);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, true);
    if (i === null) throw new Error(`array index ${last} is out of range`);
    if (i === parent.length) parent.push(value);
    else parent[i] = value;
  } else {
    parent[last] = value;
  }
  return document;
}

function remove(document: unknown, tokens: string[]): void {
  const parent = parentOf(document, tokens, false);
  const last = tokens[tokens.length - 1]!;
  if (parent === undefined) return;
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, false);
    if (i !== null) parent.splice(i, 1);
  } else {
    delete parent[last];
  }
}

/** Applies one transform to a document it may change in place; returns the resulting document. */
export function applyTransform(document: unknown, step: Transform): unknown {
  switch (step.op) {
    case 'rename': {
      const from = parsePointer(step.from);
      const value = read(document, from);
      if (value === undefined) return document;
      if (from.length === 0) throw new Error('rename cannot move the whole value');
      remove(document, from);
      return write(document, parsePointer(step.path), value);
    }
    case 'default': {
      const path = parsePointer(step.path);
      if (read(document, path) !== undefined) return document;
      return write(document, path, step.value);
    }
    case 'delete': {
      const path = parsePointer(step.path);
      if (path.length === 0) throw new Error('delete cannot remove the whole value');
      remove(document, path);
      return document;
    }
    case 'wrap': {
      const path = parsePointer(step.path);
      if (FORBIDDEN_TOKENS.has(step.key)) throw new Error(`key ${step.key} is not allowed`);
      const value = read(document, path);
      if (value === undefined) return document;
      return write(document, path, { [step.key]: value });
    }
  }
}
