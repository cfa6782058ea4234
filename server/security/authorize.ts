import type { ReadAccess } from '../extension.js';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { OpName, RequestFrame } from '../../shared/protocol/messages/index.js';
import { allowsBoard, allowsKey, allowsSome, parseScopeClaim, patternMayMatchUnder, prefixesFor, type Scope, type ScopeAction } from './scopes.js';

/**
 * What each op needs, read from the fields its schema gives it. The table is typed by
 * OpName, so an op added to the protocol does not compile until it has a rule here.
 */
type Need =
  /** `action` covering `key` (a list prefix counts as a key: every listed key starts with it). */
  | { kind: 'key'; actions: readonly ScopeAction[]; board: string; key: string }
  /** `action` on the whole board. */
  | { kind: 'board'; action: ScopeAction; board: string }
  /** `action` on any part of the board. */
  | { kind: 'some'; action: ScopeAction; board: string }
  /** read on some key at least one pattern could match; the subscription is then narrowed. */
  | { kind: 'patterns'; board: string; patterns: readonly string[] };

type Rule<Op extends OpName> = (frame: RequestFrame<Op>) => Need[];

const read = (board: string, key: string): Need => ({ kind: 'key', actions: ['read'], board, key });
const write = (board: string, key: string): Need => ({ kind: 'key', actions: ['write'], board, key });
const task = (frame: { board: string }): Need[] => [{ kind: 'board', action: 'task', board: frame.board }];
const lock = (frame: { board: string; name: string }): Need[] => [{ kind: 'key', actions: ['lock'], board: frame.board, key: frame.name }];
/** Ops that name no board act only on what the connection itself holds (its subscriptions, its workers). */
const own = (): Need[] => [];

const rules: { [Op in OpName]: Rule<Op> } = {
  get: (f) => [read(f.board, f.key)],
  // A prefix the scopes do not cover is refused rather than silently filtered, so
  // `limit`, `after` and `more` keep their meaning.
  list: (f) => [read(f.board, f.prefix)],
  history: (f) => (f.key === undefined ? [{ kind: 'board', action: 'read', board: f.board }] : [read(f.board, f.key)]),
  // Filtered in its handler to the boards the caller may read.
  boards: own,
  // Read on some part of the board; the handler searches only the keys the scopes cover.
  search: (f) => [{ kind: 'some', action: 'read', board: f.board }],
  put: (f) => [write(f.board, f.key)],
  patch: (f) => [write(f.board, f.key)],
  delete: (f) => [write(f.board, f.key)],
  txn: (f) => [
    ...f.ops.map((o) => write(f.board, o.key)),
    // A compare reveals a key's version: it needs read, or write on that key.
    ...f.compare.map((c): Need => ({ kind: 'key', actions: ['read', 'write'], board: f.board, key: c.key })),
  ],
  subscribe: (f) => [{ kind: 'patterns', board: f.board, patterns: f.patterns }],
  unsubscribe: own,
  'lock.acquire': lock,
  'lock.extend': lock,
  'lock.release': lock,
  'task.enqueue': task,
  'task.work': task,
  'task.heartbeat': task,
  'task.checkpoint': task,
  'task.complete': task,
  'task.fail': task,
  'task.get': task,
  'task.cancel': task,
  'task.stop': own,
  // Presence writes `$presence/<agent>` and raises the board's revision: a read-only
  // credential must not change a board, so it needs some write scope on the board.
  'presence.set': (f) => [{ kind: 'some', action: 'write', board: f.board }],
  'presence.clear': (f) => [{ kind: 'some', action: 'write', board: f.board }],
  // Schemas govern every writer of the board and start migrations: admin on the board.
  'schema.set': (f) => [{ kind: 'board', action: 'admin', board: f.board }],
  'schema.get': (f) => [{ kind: 'board', action: 'admin', board: f.board }],
  'schema.list': (f) => [{ kind: 'board', action: 'admin', board: f.board }],
};

function satisfied(need: Need, scopes: readonly Scope[]): boolean {
  switch (need.kind) {
    case 'key':
      return need.actions.some((a) => allowsKey(scopes, a, need.board, need.key));
    case 'board':
      return allowsBoard(scopes, need.action, need.board);
    case 'some':
      return allowsSome(scopes, need.action, need.board);
    case 'patterns': {
      const prefixes = prefixesFor(scopes, 'read', need.board);
      return need.patterns.some((p) => prefixes.some((prefix) => patternMayMatchUnder(p, prefix)));
    }
  }
}

function needText(need: Need): string {
  switch (need.kind) {
    case 'key':
      return `${need.actions.join(' or ')} on ${need.board}/${need.key}`;
    case 'board':
      return `${need.action} on the whole board ${need.board}`;
    case 'some':
      return `${need.action} on board ${need.board}`;
    case 'patterns':
      return `read on keys of ${need.board} that the patterns could match`;
  }
}

const parsed = new WeakMap<readonly string[], Scope[]>();

/** The parsed form of a connection's scopes, parsed once per credential. */
function scopesOf(raw: readonly string[]): Scope[] {
  let scopes = parsed.get(raw);
  if (!scopes) {
    scopes = parseScopeClaim(raw);
    parsed.set(raw, scopes);
  }
  return scopes;
}

/** Throws FORBIDDEN unless the scopes (null: unrestricted) allow the op; changes nothing. */
export function authorize(op: OpName, frame: Record<string, unknown>, raw: readonly string[] | null): void {
  if (raw === null) return;
  const rule = rules[op] as Rule<OpName> | undefined;
  const scopes = scopesOf(raw);
  // The table is complete by type; an op that still has no rule needs admin on its board
  // (without a board field, on every board: only `admin:*` matches the empty name).
  const fallback: Need = { kind: 'board', action: 'admin', board: typeof frame.board === 'string' ? frame.board : '' };
  const needs = rule ? rule(frame as RequestFrame<OpName>) : [fallback];
  for (const need of needs) {
    if (satisfied(need, scopes)) continue;
    throw new BlackboardError(ErrorCode.FORBIDDEN, `${op} needs ${needText(need)}`, {
      op,
      ...('board' in need ? { board: need.board } : {}),
      ...(need.kind === 'key' ? { key: need.key } : {}),
    });
  }
}

/** Whether `boards` may show this board: the caller can read some part of it. */
export function mayReadBoard(raw: readonly string[] | null, board: string): boolean {
  return raw === null || allowsSome(scopesOf(raw), 'read', board);
}

/** What a subscription may deliver: null when unrestricted, else a filter with a stable identity. */
export function readableKeys(raw: readonly string[] | null, board: string): ReadAccess {
  if (raw === null) return null;
  const prefixes = prefixesFor(scopesOf(raw), 'read', board);
  if (prefixes.length === 1 && prefixes[0] === '') return null;
  return { id: JSON.stringify(prefixes), prefixes, test: (key) => prefixes.some((p) => key.startsWith(p)) };
}
