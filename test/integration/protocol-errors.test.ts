import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { MAX_VALUE_BYTES: '1024', MAX_FRAME_BYTES: '65536', MAX_JSON_DEPTH: '16' } });
});
afterAll(async () => {
  await server?.stop();
});

function errorCode(reply: Record<string, unknown>): string | undefined {
  return (reply.error as { code?: string } | undefined)?.code;
}

describe('bad input', () => {
  it('garbage, wrong types, unknown ops and fields, oversize values: documented errors, board unchanged', async () => {
    const board = randomBoard();
    const raw = await RawSocket.open(server.wsUrl);
    await raw.call('put', { board, key: 'k', value: 'before' });
    const before = await raw.call('list', { board, prefix: '' });

    raw.sendText('not json at all');
    raw.sendText('[1,2,3]');
    raw.sendText('{"op":"put","board":"x","key":"k","value":1}');
    raw.sendText('{"id":"7","op":"get","board":"x","key":"k"}');
    const nulls = await raw.until(() => {
      const got = raw.messages.filter((m) => m.id === null);
      return got.length >= 4 ? got : undefined;
    });
    expect(nulls.every((m) => m.ok === false && errorCode(m) === 'BAD_REQUEST')).toBe(true);

    const cases: Array<[Record<string, unknown>, string]> = [
      [{ op: 'nope', board }, 'BAD_REQUEST'],
      [{ op: 'put', board, key: 'k', value: 1, ifVersion: '1' }, 'BAD_REQUEST'],
      [{ op: 'put', board, key: 'k', value: 1, ifversion: 1 }, 'BAD_REQUEST'],
      [{ op: 'put', board, key: 'k' }, 'BAD_REQUEST'],
      [{ op: 'put', board, key: 'k', value: 1, reqId: null }, 'BAD_REQUEST'],
      [{ op: 'put', board: 'Bad Board', key: 'k', value: 1 }, 'BAD_REQUEST'],
      [{ op: 'put', board, key: '', value: 1 }, 'BAD_REQUEST'],
      [{ op: 'put', board, key: 'a//b', value: 1 }, 'BAD_REQUEST'],
      [{ op: 'put', board, key: 'k', value: 'x'.repeat(2000) }, 'TOO_LARGE'],
      [{ op: 'put', board, key: '$locks/x', value: 1 }, 'FORBIDDEN'],
      [{ op: 'delete', board, key: '$presence/x' }, 'FORBIDDEN'],
      [{ op: 'patch', board, key: 'k', patch: [{ op: 'explode', path: '/a' }] }, 'BAD_REQUEST'],
      [{ op: 'put', board, key: 'k', value: JSON.parse('['.repeat(20) + ']'.repeat(20)) }, 'BAD_REQUEST'],
      [{ op: 'get', board, key: 'missing' }, 'NOT_FOUND'],
    ];
    for (const [frame, code] of cases) {
      const { op, ...args } = frame;
      const reply = await raw.call(String(op), args);
      expect([JSON.stringify(frame).slice(0, 60), errorCode(reply)]).toEqual([JSON.stringify(frame).slice(0, 60), code]);
      expect(reply.ok).toBe(false);
    }
    const after = await raw.call('list', { board, prefix: '' });
    expect(after).toEqual({ ...before, id: after.id });
    expect(raw.closeCode).toBeNull();
    raw.close();
  });

  it('a frame over the limit closes the socket with 1009 and writes nothing', async () => {
    const board = randomBoard();
    const raw = await RawSocket.open(server.wsUrl);
    raw.sendText(JSON.stringify({ id: 1, op: 'put', board, key: 'big', value: 'x'.repeat(70_000) }));
    expect(await raw.waitClose()).toBe(1009);
    const check = await RawSocket.open(server.wsUrl);
    const reply = await check.call('get', { board, key: 'big' });
    expect(errorCode(reply)).toBe('NOT_FOUND');
    check.close();
  });

  it('the unknown field ifversion is refused and writes nothing', async () => {
    const board = randomBoard();
    const raw = await RawSocket.open(server.wsUrl);
    await raw.call('put', { board, key: 'k', value: 1 });
    const reply = await raw.call('put', { board, key: 'k', value: 2, ifversion: 5 });
    expect(errorCode(reply)).toBe('BAD_REQUEST');
    expect(JSON.stringify(reply.error)).toContain('ifversion');
    const got = await raw.call('get', { board, key: 'k' });
    expect((got.result as { value: number; version: number }).value).toBe(1);
    expect((got.result as { rev: number }).rev).toBe(1);
    raw.close();
  });

  it('big integers and exact JSON survive a round trip through put, get and events', async () => {
    const board = randomBoard();
    const raw = await RawSocket.open(server.wsUrl);
    const sub = await raw.call('subscribe', { board, patterns: ['n'] });
    const text = '{"big":12345678901234567890123,"list":[],"obj":{},"f":0.1}';
    raw.sendText(`{"id":99,"op":"put","board":"${board}","key":"n","value":${text}}`);
    await raw.until(() => raw.messages.find((m) => m.id === 99));
    const got = await new Promise<string>((resolve) => {
      raw.ws.once('message', (data) => resolve(data.toString()));
      raw.sendText(`{"id":100,"op":"get","board":"${board}","key":"n"}`);
    });
    expect(got).toContain(`"value":${text}`);
    const events = await raw.until(() => raw.pushes((sub.result as { sub: string }).sub)[0]);
    expect(events.push).toBe('events');
    raw.close();
  });
});
