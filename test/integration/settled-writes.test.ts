import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

/** PROTOCOL.md, "Settled after v1 shipped": compares, patch tests and reqId. */

type Reply = Record<string, unknown>;
const errorOf = (r: Reply) => r.error as { code: string; details: Record<string, unknown> } | undefined;
const codeOf = (r: Reply) => errorOf(r)?.code ?? 'ok';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const as = (agent: string) => RawSocket.open(`${server.wsUrl}?agent=${agent}`);

describe('settled rules: compares', () => {
  it('Every compare of a txn is evaluated; a per-op ifVersion is one more compare; failed lists them in request order', async () => {
    const board = randomBoard();
    const raw = await as('cmp');
    for (const key of ['a', 'b', 'c']) await raw.call('put', { board, key, value: 0 });
    const reply = await raw.call('txn', {
      board,
      compare: [
        { key: 'c', version: 4 },
        { key: 'b', version: 1 },
        { key: 'a', version: 9 },
      ],
      ops: [
        { op: 'put', key: 'x', value: 1, ifVersion: 2 },
        { op: 'put', key: 'b', value: 1, ifVersion: 1 },
        { op: 'delete', key: 'a', ifVersion: 3 },
      ],
    });
    expect(codeOf(reply)).toBe('CONFLICT');
    expect(errorOf(reply)!.details.failed).toEqual([
      { key: 'c', expected: 4, actual: 1 },
      { key: 'a', expected: 9, actual: 1 },
      { key: 'x', expected: 2, actual: 0 },
      { key: 'a', expected: 3, actual: 1 },
    ]);
    // Two different versions for one key always fail, whichever the key has.
    const twice = await raw.call('txn', {
      board,
      compare: [
        { key: 'b', version: 1 },
        { key: 'b', version: 2 },
      ],
      ops: [{ op: 'put', key: 'y', value: 1 }],
    });
    expect(errorOf(twice)!.details.failed).toEqual([{ key: 'b', expected: 2, actual: 1 }]);
    const other = await raw.call('txn', {
      board,
      compare: [],
      ops: [
        { op: 'put', key: 'b', value: 2, ifVersion: 1 },
        { op: 'put', key: 'z', value: 1 },
      ],
    });
    expect(codeOf(other)).toBe('ok');
    expect((await raw.call('list', { board, prefix: '' })).result).toMatchObject({ rev: 4 });
    raw.close();
  });

  it('With ifVersion n > 0 a missing key is CONFLICT with current {version: 0}', async () => {
    const board = randomBoard();
    const raw = await as('cmp');
    const frames: Array<[string, Record<string, unknown>]> = [
      ['put', { board, key: 'm', value: 1, ifVersion: 2 }],
      ['patch', { board, key: 'm', patch: [{ op: 'add', path: '/a', value: 1 }], ifVersion: 2 }],
      ['delete', { board, key: 'm', ifVersion: 2 }],
      ['txn', { board, compare: [], ops: [{ op: 'patch', key: 'm', patch: [], ifVersion: 1 }] }],
    ];
    for (const [op, args] of frames) {
      const reply = await raw.call(op, args);
      expect([op, codeOf(reply)]).toEqual([op, 'CONFLICT']);
      if (op === 'txn') expect(errorOf(reply)!.details.failed).toEqual([{ key: 'm', expected: 1, actual: 0 }]);
      else expect(errorOf(reply)!.details.current).toEqual({ version: 0 });
    }
    raw.close();
  });

  it('compares are judged before an absent delete/patch target is NOT_FOUND', async () => {
    const board = randomBoard();
    const raw = await as('cmp');
    await raw.call('put', { board, key: 'a', value: { n: 1 } });
    const patchMissing = { op: 'patch', key: 'gone', patch: [{ op: 'add', path: '/x', value: 1 }] };
    const deleteMissing = { op: 'delete', key: 'gone' };
    for (const op of [patchMissing, deleteMissing]) {
      const failing = await raw.call('txn', { board, compare: [{ key: 'a', version: 7 }], ops: [op] });
      expect([op.op, codeOf(failing)]).toEqual([op.op, 'CONFLICT']);
      expect(errorOf(failing)!.details.failed).toEqual([{ key: 'a', expected: 7, actual: 1 }]);
      const passing = await raw.call('txn', { board, compare: [{ key: 'a', version: 1 }], ops: [op] });
      expect([op.op, codeOf(passing)]).toEqual([op.op, 'NOT_FOUND']);
    }
    // An op's own ifVersion is a compare as well.
    const own = await raw.call('txn', { board, compare: [], ops: [{ ...patchMissing, ifVersion: 3 }] });
    expect(codeOf(own)).toBe('CONFLICT');
    expect((await raw.call('list', { board, prefix: '' })).result).toMatchObject({ rev: 1 });
    raw.close();
  });

  it('A failing test op is CONFLICT with details.reason "test" and details.current, so a client can merge', async () => {
    const board = randomBoard();
    const raw = await as('cmp');
    await raw.call('put', { board, key: 'doc', value: { a: 1, list: [] } });
    await raw.call('patch', { board, key: 'doc', patch: [{ op: 'add', path: '/list/-', value: 'x' }] });
    const alone = await raw.call('patch', {
      board,
      key: 'doc',
      patch: [
        { op: 'test', path: '/a', value: 2 },
        { op: 'replace', path: '/a', value: 3 },
      ],
    });
    expect(codeOf(alone)).toBe('CONFLICT');
    expect(errorOf(alone)!.details).toMatchObject({ reason: 'test', key: 'doc', current: { version: 2, modRev: 2, value: { a: 1, list: ['x'] } } });
    const inTxn = await raw.call('txn', {
      board,
      compare: [],
      ops: [
        { op: 'put', key: 'other', value: 1 },
        { op: 'patch', key: 'doc', patch: [{ op: 'test', path: '/list/0', value: 'y' }] },
      ],
    });
    expect(codeOf(inTxn)).toBe('CONFLICT');
    expect(errorOf(inTxn)!.details).toMatchObject({ reason: 'test', key: 'doc', current: { version: 2, modRev: 2, value: { a: 1, list: ['x'] } } });
    expect((await raw.call('list', { board, prefix: '' })).result).toMatchObject({ rev: 2 });
    raw.close();
  });
});

describe('settled rules: reqId', () => {
  it('reqId: a retry of the same request returns the first result, even if the key changed or was deleted since (patch with ifVersion included)', async () => {
    const board = randomBoard();
    const writer = await as('alice');
    await writer.call('put', { board, key: 'doc', value: { n: 0 } });
    const patch = { board, key: 'doc', patch: [{ op: 'replace', path: '/n', value: 1 }], ifVersion: 1, reqId: 'retry-1' };
    const first = await writer.call('patch', patch);
    expect(first.result).toEqual({ version: 2, rev: 2, value: { n: 1 } });
    writer.close();

    // The reply was lost with the connection: the agent sends it again on a new one.
    const again = await as('alice');
    expect((await again.call('patch', patch)).result).toEqual(first.result);
    await again.call('put', { board, key: 'doc', value: { n: 'changed' } });
    expect((await again.call('patch', patch)).result).toEqual(first.result);
    await again.call('delete', { board, key: 'doc' });
    expect((await again.call('patch', patch)).result).toEqual(first.result);

    // The same holds for a txn whose compare would now fail and whose patch target is gone.
    await again.call('put', { board, key: 'doc', value: { n: 5 } });
    const txn = { board, compare: [{ key: 'doc', version: 1 }], ops: [{ op: 'patch', key: 'doc', patch: [{ op: 'remove', path: '/n' }] }], reqId: 'retry-2' };
    const firstTxn = await again.call('txn', txn);
    expect(codeOf(firstTxn)).toBe('ok');
    await again.call('delete', { board, key: 'doc' });
    expect((await again.call('txn', txn)).result).toEqual(firstTxn.result);
    const rev = ((await again.call('list', { board, prefix: '' })).result as { rev: number }).rev;
    expect(rev).toBe(7);
    again.close();
  });

  it('reqId: the same reqId with a different request is CONFLICT with details.reason "reqId"', async () => {
    const board = randomBoard();
    const raw = await as('bob');
    expect(codeOf(await raw.call('put', { board, key: 'k', value: 1, reqId: 'r' }))).toBe('ok');
    const changes: Array<Record<string, unknown>> = [
      { board, key: 'k', value: 2, reqId: 'r' },
      { board, key: 'other', value: 1, reqId: 'r' },
      { board, key: 'k', value: 1, ifVersion: 1, reqId: 'r' },
    ];
    for (const args of changes) {
      const reply = await raw.call('put', args);
      expect(codeOf(reply)).toBe('CONFLICT');
      expect(errorOf(reply)!.details).toMatchObject({ reason: 'reqId' });
    }
    const asDelete = await raw.call('delete', { board, key: 'k', reqId: 'r' });
    expect(errorOf(asDelete)?.details).toMatchObject({ reason: 'reqId' });
    // A patch that fails its own checks with a reqId already used elsewhere says so too.
    const asPatch = await raw.call('patch', { board, key: 'k', patch: [{ op: 'add', path: '/x', value: 1 }], ifVersion: 9, reqId: 'r' });
    expect(errorOf(asPatch)?.details).toMatchObject({ reason: 'reqId' });
    // Key order of the frame does not make another request.
    raw.sendText(`{"reqId":"r","value":1,"key":"k","board":"${board}","op":"put","id":4242}`);
    const reordered = await raw.until(() => raw.messages.find((m) => m.id === 4242));
    expect(reordered.result).toEqual({ version: 1, rev: 1 });
    expect((await raw.call('get', { board, key: 'k' })).result).toMatchObject({ value: 1, version: 1, rev: 1 });
    raw.close();
  });

  it('reqId: another agent’s reqId never matches; two agents using the same reqId both get their writes applied', async () => {
    const board = randomBoard();
    const alice = await as('alice');
    const bob = await as('bob');
    const a = await alice.call('put', { board, key: 'shared', value: 'alice', reqId: 'same' });
    const b = await bob.call('put', { board, key: 'shared', value: 'bob', reqId: 'same' });
    expect(a.result).toEqual({ version: 1, rev: 1 });
    expect(b.result).toEqual({ version: 2, rev: 2 });
    const c = await bob.call('put', { board, key: 'bob-only', value: 1, reqId: 'also' });
    const d = await alice.call('put', { board, key: 'alice-only', value: 1, reqId: 'also' });
    expect([codeOf(c), codeOf(d)]).toEqual(['ok', 'ok']);
    const listed = (await alice.call('list', { board, prefix: '' })).result as { items: Array<{ key: string; value: unknown }>; rev: number };
    expect(listed.rev).toBe(4);
    expect(listed.items.map((i) => [i.key, i.value])).toEqual([
      ['alice-only', 1],
      ['bob-only', 1],
      ['shared', 'bob'],
    ]);
    alice.close();
    bob.close();
  });
});
