/**
 * Scopes: what a token lets its holder do. Pure parsing and matching, no I/O.
 *
 * A scope is `<action>:<board>` or `<action>:<board>/<key-prefix>`.
 * - action: read, write, lock, task or admin (admin implies every other action).
 * - board: a board name in which `*` stands for any run of board-name characters
 *   (`proj-*` covers `proj-1` and `proj-x`; `*` alone covers every board).
 * - key-prefix: a literal string prefix of keys (for lock scopes: of lock names). It is
 *   a plain string prefix like `list`'s, so `plan/` covers `plan/a` but `plan` also
 *   covers `planet`. No prefix, or an empty one, means the whole board, `$` keys
 *   included. `task` and `admin` scopes always name whole boards.
 */

const SCOPE_ACTIONS = ['read', 'write', 'lock', 'task', 'admin'] as const;
export type ScopeAction = (typeof SCOPE_ACTIONS)[number];

export interface Scope {
  action: ScopeAction;
  /** The board part as written, `*` wildcards included. */
  boardPattern: string;
  /** '' = the whole board. */
  prefix: string;
  matchesBoard(board: string): boolean;
}

/** A scope of a known action that cannot be understood: the credential carrying it is refused. */
export class ScopeError extends Error {
  constructor(
    readonly scope: string,
    reason: string,
  ) {
    super(`scope ${JSON.stringify(scope.slice(0, 80))}: ${reason}`);
  }
}

const BOARD_PART = /^[a-z0-9*][a-z0-9_*-]{0,63}$/;
const MAX_PREFIX_LENGTH = 512;
/** More than this many scopes in one credential is refused: every request checks them all. */
const MAX_SCOPES = 256;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

function isAction(text: string): text is ScopeAction {
  return (SCOPE_ACTIONS as readonly string[]).includes(text);
}

function boardMatcher(pattern: string): (board: string) => boolean {
  if (!pattern.includes('*')) return (board) => board === pattern;
  // Board parts hold only [a-z0-9_-] besides `*`, none of which is special in a RegExp.
  const regex = new RegExp(`^${pattern.replaceAll('*', '[a-z0-9_-]*')}$`);
  return (board) => regex.test(board);
}

/**
 * One scope string. Returns null for a string that is not a Blackboard scope at all
 * (no `:`, or an action this server does not know), so that tokens from a shared
 * identity provider may carry other scopes such as `openid`.
 */
export function parseScope(text: string): Scope | null {
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  const action = text.slice(0, colon);
  if (!isAction(action)) return null;
  const target = text.slice(colon + 1);
  const slash = target.indexOf('/');
  const boardPattern = slash === -1 ? target : target.slice(0, slash);
  const prefix = slash === -1 ? '' : target.slice(slash + 1);
  if (!BOARD_PART.test(boardPattern)) {
    throw new ScopeError(text, 'the board must match [a-z0-9*][a-z0-9_*-]{0,63}');
  }
  if (prefix.length > MAX_PREFIX_LENGTH) throw new ScopeError(text, `the key prefix is longer than ${MAX_PREFIX_LENGTH}`);
  if (CONTROL_CHARS.test(prefix)) throw new ScopeError(text, 'the key prefix holds control characters');
  // Prefixes are literal; a `*` there would read as a glob that silently matches nothing.
  if (prefix.includes('*')) throw new ScopeError(text, 'key prefixes are literal: `*` is only allowed in the board name');
  if (prefix !== '' && (action === 'task' || action === 'admin')) {
    throw new ScopeError(text, `${action} scopes name a whole board, without a key prefix`);
  }
  return { action, boardPattern, prefix, matchesBoard: boardMatcher(boardPattern) };
}

/**
 * The `scope` claim: a space-separated string (OAuth style) or an array of strings.
 * Throws ScopeError for a malformed Blackboard scope; ignores foreign ones.
 */
export function parseScopeClaim(claim: unknown): Scope[] {
  let parts: string[];
  if (claim === undefined || claim === null) parts = [];
  else if (typeof claim === 'string') parts = claim.split(/\s+/).filter((p) => p !== '');
  else if (Array.isArray(claim) && claim.every((p): p is string => typeof p === 'string')) parts = claim;
  else throw new ScopeError(String(claim), 'the scope claim must be a string or an array of strings');
  if (parts.length > MAX_SCOPES) throw new ScopeError(parts[0] ?? '', `more than ${MAX_SCOPES} scopes`);
  return parts.flatMap((p) => {
    const scope = parseScope(p);
    return scope ? [scope] : [];
  });
}

export function formatScope(scope: Scope): string {
  return scope.prefix === '' ? `${scope.action}:${scope.boardPattern}` : `${scope.action}:${scope.boardPattern}/${scope.prefix}`;
}

function grants(scope: Scope, action: ScopeAction, board: string): boolean {
  return (scope.action === action || scope.action === 'admin') && scope.matchesBoard(board);
}

/** `action` on the whole of `board`. */
export function allowsBoard(scopes: readonly Scope[], action: ScopeAction, board: string): boolean {
  return scopes.some((s) => s.prefix === '' && grants(s, action, board));
}

/** `action` on `key` (or on every key starting with `key`, for a list prefix). */
export function allowsKey(scopes: readonly Scope[], action: ScopeAction, board: string, key: string): boolean {
  return scopes.some((s) => key.startsWith(s.prefix) && grants(s, action, board));
}

/** `action` on some part of `board`. */
export function allowsSome(scopes: readonly Scope[], action: ScopeAction, board: string): boolean {
  return scopes.some((s) => grants(s, action, board));
}

/** The key prefixes of `board` that `action` covers; [''] when it covers the whole board, [] when none. */
export function prefixesFor(scopes: readonly Scope[], action: ScopeAction, board: string): string[] {
  const prefixes = new Set<string>();
  for (const s of scopes) {
    if (!grants(s, action, board)) continue;
    if (s.prefix === '') return [''];
    prefixes.add(s.prefix);
  }
  return [...prefixes].sort();
}

/**
 * Whether a subscription pattern could match some key starting with `prefix`. Exact
 * patterns are decided exactly; globs by their literal head, erring towards "yes"
 * (the subscription is narrowed to readable keys anyway, so "yes" only costs a
 * subscription that delivers nothing).
 */
export function patternMayMatchUnder(pattern: string, prefix: string): boolean {
  const star = pattern.indexOf('*');
  if (star === -1) return pattern.startsWith(prefix);
  // Globs never match `$` keys unless they start with `$` themselves.
  if (prefix.startsWith('$') && !pattern.startsWith('$')) return false;
  const head = pattern.slice(0, star);
  return head.startsWith(prefix) || prefix.startsWith(head);
}
