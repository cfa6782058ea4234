import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

/** PROTOCOL.md, "Settled after v1 shipped": the rules about frames, fields, numbers and keys. */

type Reply = Record<string, unknown>;
const errorOf = (r: Reply) => r.error as { code: string; message: string; details?: unknown } | undefined;
const codeOf = (r: Reply) => errorOf(r)?.code ?? 'ok';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/** `levels` nested arrays: `[]` is one level. */
function nested(levels: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < levels; i++) value = [value];
  return value;
}

describe('settled rules: frames and fields', () => {
  it('Depth counts the whole frame (the frame object is depth 1)', async () => {
    const board = randomBoard();
    const raw = await RawSocket.open(server.wsUrl);
    const limit = server.services.config.MAX_JSON_DEPTH;
    // The frame is depth 1, so its value may nest limit - 1 levels.
    expect(codeOf(await raw.call('put', { board, key: 'deep', value: nested(limit - 1) }))).toBe('ok');
    expect(codeOf(await raw.call('put', { board, key: 'deeper', value: nested(limit) }))).toBe('BAD_REQUEST');
    // The same depth counts inside any field, a patch's value as much as a put's.
    const patch = [{ op: 'add', path: '/x', value: nested(limit - 3) }];
    expect(codeOf(await raw.call('patch', { board, key: 'deep', patch: [{ op: 'replace', path: '', value: {} }] }))).toBe('ok');
    expect(codeOf(await raw.call('patch', { board, key: 'deep', patch }))).toBe('ok');
    const tooDeep = [{ op: 'add', path: '/y', value: nested(limit - 2) }];
    expect(codeOf(await raw.call('patch', { board, key: 'deep', patch: tooDeep }))).toBe('BAD_REQUEST');
    expect(codeOf(await raw.call('get', { board, key: 'deeper' }))).toBe('NOT_FOUND');
    raw.close();
  });

  it('Fields that take any JSON accept null; task.fail error is a string; any other field sent as null is BAD_REQUEST', async () => {
    const board = randomBoard();
    const raw = await RawSocket.open(server.wsUrl);
    expect(codeOf(await raw.call('put', { board, key: 'n', value: null }))).toBe('ok');
    expect((await raw.call('get', { board, key: 'n' })).result).toMatchObject({ value: null, version: 1 });
    expect(codeOf(await raw.call('patch', { board, key: 'n', patch: [{ op: 'replace', path: '', value: null }] }))).toBe('ok');
    expect(codeOf(await raw.call('presence.set', { board, meta: null }))).toBe('ok');
    const enqueued = await raw.call('task.enqueue', { board, queue: 'q', data: null });
    expect(codeOf(enqueued)).toBe('ok');
    const worker = await raw.call('task.work', { board, queue: 'q' });
    expect(codeOf(worker)).toBe('ok');
    const push = await raw.until(() => raw.messages.find((m) => m.push === 'task'));
    const task = push.task as { taskId: string; token: string; data: unknown };
    expect(task.data).toBeNull();
    expect(codeOf(await raw.call('task.fail', { board, taskId: task.taskId, token: task.token, error: null }))).toBe('BAD_REQUEST');
    expect(codeOf(await raw.call('task.checkpoint', { board, taskId: task.taskId, token: task.token, checkpoint: null }))).toBe('ok');
    expect(codeOf(await raw.call('task.complete', { board, taskId: task.taskId, token: task.token, result: null }))).toBe('ok');

    const nulls: Array<[string, Record<string, unknown>]> = [
      ['put', { board, key: 'k', value: 1, ifVersion: null }],
      ['put', { board, key: 'k', value: 1, reqId: null }],
      ['put', { board, key: 'k', value: 1, fence: null }],
      ['put', { board, key: 'k', value: 1, durability: null }],
      ['put', { board, key: null, value: 1 }],
      ['get', { board, key: 'n', atRev: null }],
      ['list', { board, prefix: null }],
      ['list', { board, prefix: '', after: null }],
      ['history', { board, fromRev: null }],
      ['subscribe', { board, patterns: ['**'], snapshot: null }],
      ['txn', { board, compare: null, ops: [{ op: 'put', key: 'k', value: 1 }] }],
      ['boards', { prefix: null }],
      ['lock.acquire', { board, name: 'l', ttlMs: 1_000, waitMs: null }],
      ['task.enqueue', { board, queue: 'q', data: 1, taskId: null }],
    ];
    for (const [op, args] of nulls) {
      expect([op, JSON.stringify(args), codeOf(await raw.call(op, args))]).toEqual([op, JSON.stringify(args), 'BAD_REQUEST']);
    }
    expect(codeOf(await raw.call('get', { board, key: 'k' }))).toBe('NOT_FOUND');
    raw.close();
  });

  it('error.details is always an object ({} when there is nothing to say)', async () => {
    const board = randomBoard();
    const raw = await RawSocket.open(server.wsUrl);
    raw.sendText('not json');
    raw.sendText('{"op":"get"}');
    await raw.until(() => (raw.messages.filter((m) => m.id === null).length >= 2 ? true : undefined));
    const replies = [
      ...raw.messages.filter((m) => m.id === null),
      await raw.call('nope', {}),
      await raw.call('get', { board, key: 'missing' }),
      await raw.call('put', { board, key: '$locks/x', value: 1 }),
      await raw.call('unsubscribe', { sub: 'none' }),
      await raw.call('put', { board, key: 'k', value: 1, bogus: true }),
    ];
    for (const reply of replies) {
      expect(reply.ok).toBe(false);
      const details = errorOf(reply)?.details;
      expect(details !== null && typeof details === 'object' && !Array.isArray(details), JSON.stringify(reply)).toBe(true);
    }
    // A missing op is BAD_REQUEST, as any frame the server cannot run.
    expect(codeOf(await raw.call('', {}))).toBe('BAD_REQUEST');
    raw.close();
  });

  it('Numbers: integers of any size keep every digit; number spelling and whitespace are not preserved', async () => {
    const board = randomBoard();
    const raw = await RawSocket.open(server.wsUrl);
    // With and without a big integer in the frame (the server parses those two ways).
    const spelled = '{ "a" : 1.0 , "b" : 1E2, "c": [ 1 , -0.50 ] }';
    const withBig = '{"a":1.0,"big":123456789012345678901234567890,"neg":-98765432109876543210}';
    raw.sendText(`{"id":1001,"op":"put","board":"${board}","key":"spelled","value":${spelled}}`);
    raw.sendText(`{"id":1002,"op":"put","board":"${board}","key":"big","value":${withBig}}`);
    await raw.until(() => (raw.messages.filter((m) => m.id === 1001 || m.id === 1002).length === 2 ? true : undefined));
    const before = raw.texts.length;
    await raw.call('get', { board, key: 'spelled' });
    await raw.call('get', { board, key: 'big' });
    const texts = raw.texts.slice(before).join('\n');
    expect(texts).toContain('"value":{"a":1,"b":100,"c":[1,-0.5]}');
    expect(texts).toContain('"value":{"a":1,"big":123456789012345678901234567890,"neg":-98765432109876543210}');
    raw.close();
  });

  it('Keys: no control characters, no empty segment, no lone UTF-16 surrogate (BAD_REQUEST)', async () => {
    const board = randomBoard();
    const raw = await RawSocket.open(server.wsUrl);
    const refused = ['a\u0001b', 'a\nb', 'a\u007f', 'a//b', '/a', 'a/', 'a\ud800b', 'a\udc00', '\ud83d', 'x/\udfff/y'];
    for (const key of refused) {
      expect([JSON.stringify(key), codeOf(await raw.call('put', { board, key, value: 1 }))]).toEqual([JSON.stringify(key), 'BAD_REQUEST']);
      expect(codeOf(await raw.call('get', { board, key }))).toBe('BAD_REQUEST');
      expect(codeOf(await raw.call('txn', { board, compare: [], ops: [{ op: 'delete', key }] }))).toBe('BAD_REQUEST');
    }
    // A well-formed pair (an emoji) is one character, and U+FFFD is a key of its own.
    expect(codeOf(await raw.call('put', { board, key: 'a\ud83d\ude00b', value: 'emoji' }))).toBe('ok');
    expect(codeOf(await raw.call('put', { board, key: 'a\ufffdb', value: 'replacement' }))).toBe('ok');
    const listed = (await raw.call('list', { board, prefix: '' })).result as { items: Array<{ key: string; value: string }>; rev: number };
    // Ascending byte order of UTF-8: U+FFFD (EF BF BD) sorts before U+1F600 (F0 9F 98 80).
    expect(listed.items.map((i) => [i.key, i.value])).toEqual([
      ['a\ufffdb', 'replacement'],
      ['a\ud83d\ude00b', 'emoji'],
    ]);
    expect(listed.rev).toBe(2);
    raw.close();
  });
});
