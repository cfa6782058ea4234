import { describe, expect, it } from 'vitest';
import { BlackboardError } from '../../shared/protocol/errors.js';
import { requestSchemas, type OpArgs, type OpName } from '../../shared/protocol/messages/index.js';
import { authorize, mayReadBoard, readableKeys } from '../../server/security/authorize.js';
import {
  allowsBoard,
  allowsKey,
  allowsSome,
  formatScope,
  parseScope,
  parseScopeClaim,
  patternMayMatchUnder,
  prefixesFor,
  ScopeError,
} from '../../server/security/scopes.js';

describe('parsing scopes', () => {
  it('reads action, board pattern and prefix', () => {
    const s = parseScope('read:proj-*/plan/')!;
    expect([s.action, s.boardPattern, s.prefix]).toEqual(['read', 'proj-*', 'plan/']);
    expect(parseScope('write:b')!.prefix).toBe('');
    expect(parseScope('write:b/')!.prefix).toBe('');
    expect(parseScope('read:b/$locks/')!.prefix).toBe('$locks/');
    expect(parseScope('lock:b/build-')!.prefix).toBe('build-');
    expect(formatScope(parseScope('read:proj-*/plan/')!)).toBe('read:proj-*/plan/');
  });

  it('ignores scopes that are not ours, refuses malformed ones of ours', () => {
    expect(parseScope('openid')).toBeNull();
    expect(parseScope('profile:email')).toBeNull();
    expect(parseScope(':x')).toBeNull();
    for (const bad of [
      'read:',
      'read:Board',
      'read:a b',
      'read:-x'.replace('-x', '_x'),
      'read:a/plan/*',
      'task:a/q',
      'admin:a/x',
      `read:a/${'k'.repeat(600)}`,
      'read:a/x\u0001',
    ]) {
      expect(() => parseScope(bad), bad).toThrow(ScopeError);
    }
  });

  it('takes a space-separated claim or an array, and bounds it', () => {
    expect(parseScopeClaim('read:a  write:b/k/ openid').map(formatScope)).toEqual(['read:a', 'write:b/k/']);
    expect(parseScopeClaim(['read:a', 'lock:b']).map(formatScope)).toEqual(['read:a', 'lock:b']);
    expect(parseScopeClaim(undefined)).toEqual([]);
    expect(() => parseScopeClaim(42)).toThrow(ScopeError);
    expect(() => parseScopeClaim(Array.from({ length: 300 }, (_, i) => `read:b${i}`))).toThrow(ScopeError);
  });
});

describe('matching scopes', () => {
  const scopes = parseScopeClaim('read:proj-*/plan/ write:proj-1 lock:proj-1/build- admin:ops task:jobs');

  it('wildcards stand for any run of board characters, and only in the board', () => {
    expect(allowsKey(scopes, 'read', 'proj-7', 'plan/a')).toBe(true);
    expect(allowsKey(scopes, 'read', 'proj-', 'plan/a')).toBe(true);
    expect(allowsKey(scopes, 'read', 'proj', 'plan/a')).toBe(false);
    expect(allowsKey(scopes, 'read', 'xproj-7', 'plan/a')).toBe(false);
    expect(allowsKey(scopes, 'read', 'proj-7', 'plans')).toBe(false);
    expect(allowsKey(scopes, 'read', 'proj-7', '$locks/x')).toBe(false);
    expect(allowsKey(parseScopeClaim('read:*'), 'read', 'anything', '$locks/x')).toBe(true);
  });

  it('write does not imply read; admin implies everything on its boards', () => {
    expect(allowsKey(scopes, 'write', 'proj-1', 'x')).toBe(true);
    expect(allowsKey(scopes, 'read', 'proj-1', 'x')).toBe(false);
    expect(allowsKey(scopes, 'write', 'proj-2', 'x')).toBe(false);
    for (const action of ['read', 'write', 'lock', 'task'] as const) {
      expect(allowsBoard(scopes, action, 'ops')).toBe(true);
      expect(allowsBoard(scopes, action, 'ops2')).toBe(false);
    }
  });

  it('board-wide, some-part and prefix questions', () => {
    expect(allowsBoard(scopes, 'read', 'proj-1')).toBe(false);
    expect(allowsSome(scopes, 'read', 'proj-1')).toBe(true);
    expect(allowsBoard(scopes, 'task', 'jobs')).toBe(true);
    expect(allowsKey(scopes, 'lock', 'proj-1', 'build-main')).toBe(true);
    expect(allowsKey(scopes, 'lock', 'proj-1', 'deploy')).toBe(false);
    expect(prefixesFor(scopes, 'read', 'proj-1')).toEqual(['plan/']);
    expect(prefixesFor(scopes, 'read', 'ops')).toEqual(['']);
    expect(prefixesFor(scopes, 'read', 'other')).toEqual([]);
  });

  it('decides whether a subscription pattern can reach a prefix', () => {
    expect(patternMayMatchUnder('**', 'plan/')).toBe(true);
    expect(patternMayMatchUnder('plan/**', 'plan/')).toBe(true);
    expect(patternMayMatchUnder('plan/a/*', 'plan/')).toBe(true);
    expect(patternMayMatchUnder('p*/x', 'plan/')).toBe(true);
    expect(patternMayMatchUnder('other/**', 'plan/')).toBe(false);
    expect(patternMayMatchUnder('plan/x', 'plan/')).toBe(true);
    expect(patternMayMatchUnder('plan', 'plan/')).toBe(false);
    expect(patternMayMatchUnder('**', '$locks/')).toBe(false);
    expect(patternMayMatchUnder('$locks/*', '$locks/')).toBe(true);
    expect(patternMayMatchUnder('$locks/*', '')).toBe(true);
  });
});

/** One valid frame per op: the table is typed by OpName, so a new op must be added here too. */
function samples(board: string): { [Op in OpName]: OpArgs<Op> } {
  return {
    get: { board, key: 'plan/a' },
    list: { board, prefix: 'plan/' },
    put: { board, key: 'plan/a', value: 1 },
    patch: { board, key: 'plan/a', patch: [{ op: 'add', path: '/x', value: 1 }] },
    delete: { board, key: 'plan/a' },
    txn: { board, compare: [], ops: [{ op: 'put', key: 'plan/a', value: 1 }] },
    history: { board, key: 'plan/a' },
    boards: {},
    subscribe: { board, patterns: ['**'] },
    unsubscribe: { sub: 's1' },
    'lock.acquire': { board, name: 'plan/l', ttlMs: 1_000 },
    'lock.extend': { board, name: 'plan/l', token: 1, ttlMs: 1_000 },
    'lock.release': { board, name: 'plan/l', token: 1 },
    'task.enqueue': { board, queue: 'q', data: {} },
    'task.work': { board, queue: 'q' },
    'task.heartbeat': { board, taskId: 't1', token: 'x' },
    'task.checkpoint': { board, taskId: 't1', token: 'x', checkpoint: {} },
    'task.complete': { board, taskId: 't1', token: 'x' },
    'task.fail': { board, taskId: 't1', token: 'x', error: 'e' },
    'task.get': { board, taskId: 't1' },
    'task.cancel': { board, taskId: 't1' },
    'task.stop': { worker: 'w1' },
    'presence.set': { board, meta: {} },
    'presence.clear': { board },
    'schema.set': { board, pattern: 'plan/*', schema: { type: 'object' }, schemaVersion: 1 },
    'schema.get': { board, pattern: 'plan/*' },
    'schema.list': { board },
    search: { board, query: 'plan' },
  };
}

function frameOf(op: OpName, args: object): Record<string, unknown> {
  const frame = { id: 1, op, ...args };
  requestSchemas[op].parse(frame);
  return frame;
}

function outcome(op: OpName, args: object, scope: string): 'ok' | string {
  try {
    authorize(op, frameOf(op, args), parseScopeClaim(scope).map(formatScope));
    return 'ok';
  } catch (err) {
    return err instanceof BlackboardError ? err.code : 'threw';
  }
}

describe('authorizing every op', () => {
  const ops = Object.keys(requestSchemas) as OpName[];

  it('has a sample for every op in the protocol', () => {
    expect(Object.keys(samples('a')).sort()).toEqual([...ops].sort());
  });

  it('a read-only token on a/plan/ may only read under plan/ on a', () => {
    const allowed = new Set(['get', 'list', 'history', 'subscribe', 'boards', 'unsubscribe', 'task.stop', 'search']);
    for (const op of ops) {
      expect([op, outcome(op, samples('a')[op], 'read:a/plan/')]).toEqual([op, allowed.has(op) ? 'ok' : 'FORBIDDEN']);
      const onB = allowed.has(op) && !('board' in samples('b')[op]) ? 'ok' : 'FORBIDDEN';
      expect([op, outcome(op, samples('b')[op], 'read:a/plan/')]).toEqual([op, onB]);
    }
  });

  it('admin:* allows every op; nothing allows everything but admin', () => {
    for (const op of ops) expect([op, outcome(op, samples('a')[op], 'admin:*')]).toEqual([op, 'ok']);
    // Schemas govern every writer of a board: only admin may change or read them.
    const adminOnly = (op: OpName) => op.startsWith('schema.');
    for (const op of ops) {
      expect([op, outcome(op, samples('a')[op], 'read:a write:a lock:a task:a')]).toEqual([op, adminOnly(op) ? 'FORBIDDEN' : 'ok']);
    }
  });

  it('keys, prefixes and patterns outside the scope are refused', () => {
    const s = 'read:a/plan/';
    expect(outcome('get', { board: 'a', key: 'notes/x' }, s)).toBe('FORBIDDEN');
    expect(outcome('get', { board: 'a', key: '$locks/x' }, s)).toBe('FORBIDDEN');
    expect(outcome('get', { board: 'a', key: '$locks/x' }, 'read:a')).toBe('ok');
    expect(outcome('get', { board: 'a', key: '$locks/x' }, 'read:a/$locks/')).toBe('ok');
    expect(outcome('list', { board: 'a', prefix: '' }, s)).toBe('FORBIDDEN');
    expect(outcome('list', { board: 'a', prefix: 'plan' }, s)).toBe('FORBIDDEN');
    expect(outcome('list', { board: 'a', prefix: 'plan/deep/' }, s)).toBe('ok');
    expect(outcome('history', { board: 'a' }, s)).toBe('FORBIDDEN');
    expect(outcome('history', { board: 'a' }, 'read:a')).toBe('ok');
    expect(outcome('subscribe', { board: 'a', patterns: ['notes/**'] }, s)).toBe('FORBIDDEN');
    expect(outcome('subscribe', { board: 'a', patterns: ['$presence/*'] }, s)).toBe('FORBIDDEN');
    expect(outcome('subscribe', { board: 'a', patterns: ['notes/**', 'plan/*'] }, s)).toBe('ok');
  });

  it('txn needs write on every key it touches, and read or write on what it compares', () => {
    const txn = (compareKey: string, keys: string[]) => ({
      board: 'a',
      compare: [{ key: compareKey, version: 0 }],
      ops: keys.map((key) => ({ op: 'put' as const, key, value: 1 })),
    });
    expect(outcome('txn', txn('w/x', ['w/a', 'w/b']), 'write:a/w/')).toBe('ok');
    expect(outcome('txn', txn('w/x', ['w/a', 'other']), 'write:a/w/')).toBe('FORBIDDEN');
    expect(outcome('txn', txn('r/x', ['w/a']), 'write:a/w/')).toBe('FORBIDDEN');
    expect(outcome('txn', txn('r/x', ['w/a']), 'write:a/w/ read:a/r/')).toBe('ok');
  });

  it('presence needs some write on the board; lock scopes cover lock names', () => {
    expect(outcome('presence.set', { board: 'a', meta: 1 }, 'write:a/mine/')).toBe('ok');
    expect(outcome('presence.set', { board: 'a', meta: 1 }, 'read:a')).toBe('FORBIDDEN');
    expect(outcome('lock.acquire', { board: 'a', name: 'build-1', ttlMs: 1000 }, 'lock:a/build-')).toBe('ok');
    expect(outcome('lock.acquire', { board: 'a', name: 'deploy', ttlMs: 1000 }, 'lock:a/build-')).toBe('FORBIDDEN');
  });

  it('no scopes at all (authentication off) allows everything', () => {
    for (const op of ops) expect(() => authorize(op, frameOf(op, samples('a')[op]), null)).not.toThrow();
  });
});

describe('what reads return', () => {
  it('boards are listed when some part is readable', () => {
    const raw = ['read:a/plan/', 'write:b', 'admin:c'];
    expect(['a', 'b', 'c', 'd'].filter((b) => mayReadBoard(raw, b))).toEqual(['a', 'c']);
    expect(mayReadBoard(null, 'd')).toBe(true);
  });

  it('subscriptions are narrowed to the readable prefixes, with an identity per set of prefixes', () => {
    const filter = readableKeys(['read:a/plan/', 'read:a/notes/'], 'a')!;
    expect(['plan/x', 'notes/y', 'other', '$locks/x'].filter(filter.test)).toEqual(['plan/x', 'notes/y']);
    expect(readableKeys(['read:a/notes/', 'read:a/plan/'], 'a')!.id).toBe(filter.id);
    expect(readableKeys(['read:a/plan/'], 'a')!.id).not.toBe(filter.id);
    expect(readableKeys(['read:a'], 'a')).toBeNull();
    expect(readableKeys(null, 'a')).toBeNull();
    expect(readableKeys(['read:b'], 'a')!.test('x')).toBe(false);
  });
});
