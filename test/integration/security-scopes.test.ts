import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../server/security/mint.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

const SECRET = randomBytes(32).toString('hex');

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { AUTH_MODE: 'jwt', JWT_SECRET: SECRET } });
});
afterAll(async () => {
  await server?.stop();
});

async function as(sub: string, scope: string): Promise<RawSocket> {
  const token = await mintToken({ sub, scope, ttlSeconds: 600, secret: SECRET });
  return RawSocket.open(server.wsUrl, { headers: { authorization: `Bearer ${token}` } });
}

type Reply = Record<string, unknown>;
const code = (r: Reply) => (r.error as { code?: string } | undefined)?.code;
const message = (r: Reply) => (r.error as { message?: string } | undefined)?.message ?? '';
/** An op whose capability is not running on this server is answered before authorization. */
const unavailable = (r: Reply) => code(r) === 'BAD_REQUEST' && message(r).includes('not available');

function keysOf(reply: Reply, field: 'items' | 'snapshot'): string[] {
  const result = reply.result as Record<string, Array<{ key: string }>>;
  return (result[field] ?? []).map((i) => i.key);
}

describe('a token scoped to board a, prefix plan/, read-only', () => {
  it('gets FORBIDDEN for every op outside that, and a ** subscription on a delivers only plan/ keys', async () => {
    const a = randomBoard('sa');
    const b = randomBoard('sb');
    const admin = await as('admin', `admin:${a} admin:${b}`);
    for (const [board, key] of [
      [a, 'plan/1'],
      [a, 'plan/2'],
      [a, 'notes/1'],
      [b, 'plan/1'],
    ] as const) {
      expect((await admin.call('put', { board, key, value: { key } })).ok).toBe(true);
    }
    const locked = await admin.call('lock.acquire', { board: a, name: 'plan/l', ttlMs: 60_000 });
    const dollarKey = locked.ok ? '$locks/plan/l' : null;
    const beforeB = await admin.call('list', { board: b, prefix: '' });

    const reader = await as('reader', `read:${a}/plan/`);
    const forbidden: Array<[string, Record<string, unknown>]> = [
      ['put', { board: a, key: 'plan/1', value: 2 }],
      ['put', { board: a, key: 'plan/new', value: 2 }],
      ['patch', { board: a, key: 'plan/1', patch: [{ op: 'add', path: '/x', value: 1 }] }],
      ['delete', { board: a, key: 'plan/1' }],
      ['txn', { board: a, compare: [], ops: [{ op: 'put', key: 'plan/1', value: 3 }] }],
      ['get', { board: a, key: 'notes/1' }],
      ['get', { board: a, key: '$locks/plan/l' }],
      ['get', { board: a, key: 'plan' }],
      ['list', { board: a, prefix: '' }],
      ['list', { board: a, prefix: 'notes/' }],
      ['list', { board: a, prefix: '$' }],
      ['list', { board: a, prefix: 'plan' }],
      ['history', { board: a }],
      ['history', { board: a, key: 'notes/1' }],
      ['subscribe', { board: a, patterns: ['notes/**'] }],
      ['subscribe', { board: a, patterns: ['$locks/*'] }],
      ['subscribe', { board: a, patterns: ['$locks/**', '$presence/*'] }],
      ['subscribe', { board: a, patterns: ['plan'] }],
      ...[['**'], ['plan/**'], ['*'], ['plan/1'], ['$presence/*']].map((patterns): [string, Record<string, unknown>] => ['subscribe', { board: b, patterns }]),
      ['get', { board: b, key: 'plan/1' }],
      ['list', { board: b, prefix: 'plan/' }],
      ['history', { board: b, key: 'plan/1' }],
      ['lock.acquire', { board: a, name: 'plan/l2', ttlMs: 1_000 }],
      ['lock.extend', { board: a, name: 'plan/l', token: 1, ttlMs: 1_000 }],
      ['lock.release', { board: a, name: 'plan/l', token: 1 }],
      ['task.enqueue', { board: a, queue: 'q', data: {} }],
      ['task.work', { board: a, queue: 'q' }],
      ['task.get', { board: a, taskId: 't1' }],
      ['task.cancel', { board: a, taskId: 't1' }],
      ['task.heartbeat', { board: a, taskId: 't1', token: 'x' }],
      ['task.checkpoint', { board: a, taskId: 't1', token: 'x', checkpoint: 1 }],
      ['task.complete', { board: a, taskId: 't1', token: 'x' }],
      ['task.fail', { board: a, taskId: 't1', token: 'x', error: 'e' }],
      ['presence.set', { board: a, meta: {} }],
      ['presence.clear', { board: a }],
    ];
    const notRunning: string[] = [];
    for (const [op, args] of forbidden) {
      const reply = await reader.call(op, args);
      if (unavailable(reply)) {
        notRunning.push(op);
        continue;
      }
      expect([op, args, code(reply)]).toEqual([op, args, 'FORBIDDEN']);
    }
    // Locks, presence and tasks run on this server; were one missing, its ops could not be checked here.
    expect(notRunning).toEqual([]);

    // What it may do.
    expect((await reader.call('get', { board: a, key: 'plan/1' })).ok).toBe(true);
    expect(keysOf(await reader.call('list', { board: a, prefix: 'plan/' }), 'items')).toEqual(['plan/1', 'plan/2']);
    expect((await reader.call('history', { board: a, key: 'plan/1' })).ok).toBe(true);
    const boards = ((await reader.call('boards', {})).result as { boards: Array<{ board: string }> }).boards.map((x) => x.board);
    expect(boards).toEqual([a]);

    // Patterns cannot widen what a subscription delivers, snapshot included.
    const sub = await reader.call('subscribe', { board: a, patterns: ['**', '$locks/**', 'notes/1'], snapshot: true });
    expect(sub.ok).toBe(true);
    expect(keysOf(sub, 'snapshot')).toEqual(['plan/1', 'plan/2']);
    const subId = (sub.result as { sub: string }).sub;
    // A subscriber with full rights and the same patterns, on the same node, still gets everything.
    const full = await admin.call('subscribe', { board: a, patterns: ['**', '$locks/**', 'notes/1'] });
    const fullId = (full.result as { sub: string }).sub;

    await admin.call('put', { board: a, key: 'notes/1', value: 'changed' });
    await admin.call('put', { board: a, key: 'plan/3', value: 3 });
    if (dollarKey) await admin.call('lock.release', { board: a, name: 'plan/l', token: (locked.result as { token: number }).token });
    await admin.call('put', { board: a, key: 'notes/2', value: 2 });
    await admin.call('put', { board: a, key: 'plan/4', value: 4 });

    const eventKeys = (socket: RawSocket, id: string) =>
      socket.pushes(id).flatMap((p) => ((p.events as Array<{ key: string }> | undefined) ?? []).map((e) => e.key));
    await waitFor(() => eventKeys(admin, fullId).includes('plan/4'), 10_000, 'the full subscriber to see plan/4');
    await waitFor(() => eventKeys(reader, subId).includes('plan/4'), 10_000, 'the reader to see plan/4');
    expect(eventKeys(reader, subId)).toEqual(['plan/3', 'plan/4']);
    expect(eventKeys(admin, fullId)).toEqual(['notes/1', 'plan/3', ...(dollarKey ? [dollarKey] : []), 'notes/2', 'plan/4']);

    // Nothing the reader was refused changed anything (apart from the admin's own writes above).
    const afterB = await admin.call('list', { board: b, prefix: '' });
    expect({ ...afterB, id: 0 }).toEqual({ ...beforeB, id: 0 });
    expect(code(await admin.call('get', { board: a, key: 'plan/new' }))).toBe('NOT_FOUND');
    expect(code(await admin.call('get', { board: a, key: '$locks/plan/l2' }))).toBe('NOT_FOUND');
    expect(code(await admin.call('get', { board: a, key: '$presence/reader' }))).toBe('NOT_FOUND');
    const plan1 = await admin.call('get', { board: a, key: 'plan/1' });
    expect((plan1.result as { version: number; value: unknown }).version).toBe(1);
    expect(reader.closeCode).toBeNull();
    reader.close();
    admin.close();
  });

  it('wildcard boards: read:<p>-*/plan/ reads plan/ on every matching board and nothing elsewhere', async () => {
    const p = randomBoard('sw');
    const [one, two, other] = [`${p}-1`, `${p}-2`, `${p}x`];
    const admin = await as('admin', `admin:${p}*`);
    for (const board of [one, two, other]) await admin.call('put', { board, key: 'plan/k', value: board });
    const reader = await as('reader', `read:${p}-*/plan/ write:${one}/plan/`);
    expect((await reader.call('get', { board: one, key: 'plan/k' })).ok).toBe(true);
    expect((await reader.call('get', { board: two, key: 'plan/k' })).ok).toBe(true);
    expect(code(await reader.call('get', { board: other, key: 'plan/k' }))).toBe('FORBIDDEN');
    expect((await reader.call('put', { board: one, key: 'plan/k', value: 'mine' })).ok).toBe(true);
    expect(code(await reader.call('put', { board: two, key: 'plan/k', value: 'mine' }))).toBe('FORBIDDEN');
    expect(code(await reader.call('put', { board: one, key: 'other', value: 'mine' }))).toBe('FORBIDDEN');
    const boards = ((await reader.call('boards', { prefix: p })).result as { boards: Array<{ board: string }> }).boards;
    expect(boards.map((x) => x.board).sort()).toEqual([one, two]);
    reader.close();
    admin.close();
  });
});
