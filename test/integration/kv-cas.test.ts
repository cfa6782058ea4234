import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlackboardError, ErrorCode } from '../../client/sdk/index.js';
import { codeOf, randomBoard, type TestServer } from '../helpers/server.js';
import { coreBackends } from '../helpers/backends.js';

describe.each(coreBackends())('$name', (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await backend.start();
  });
  afterAll(async () => {
    await backend.stop();
  });

  describe('compare-and-set', () => {
    it('20 clients each increment one counter 100 times through update: 2000', async () => {
      const board = randomBoard();
      const clients = await Promise.all(Array.from({ length: 20 }, () => server.client()));
      await Promise.all(
        clients.map(async (client) => {
          for (let i = 0; i < 100; i++) await client.update<number>(board, 'counter', (n) => (n ?? 0) + 1);
        }),
      );
      const got = await clients[0]!.get<number>(board, 'counter');
      expect(got.value).toBe(2000);
      expect(got.version).toBe(2000);
      for (const c of clients) c.close();
    });

    it('10 clients each append 200 items through patch without ifVersion: exactly 2000, none lost or twice', async () => {
      const board = randomBoard();
      const clients = await Promise.all(Array.from({ length: 10 }, () => server.client()));
      await clients[0]!.put(board, 'list', { items: [] });
      await Promise.all(
        clients.map(async (client, c) => {
          for (let i = 0; i < 200; i++) {
            await client.patch(board, 'list', [{ op: 'add', path: '/items/-', value: `${c}-${i}` }]);
          }
        }),
      );
      const { value } = await clients[0]!.get<{ items: string[] }>(board, 'list');
      expect(value.items).toHaveLength(2000);
      expect(new Set(value.items).size).toBe(2000);
      for (let c = 0; c < 10; c++) {
        // Each client's own appends keep their order.
        const mine = value.items.filter((x) => x.startsWith(`${c}-`)).map((x) => Number(x.split('-')[1]));
        expect(mine).toEqual(Array.from({ length: 200 }, (_, i) => i));
      }
      for (const c of clients) c.close();
    });

    it('ifVersion conflicts carry the current state; 0 means absent', async () => {
      const board = randomBoard();
      const client = await server.client();
      expect(await client.put(board, 'k', { a: 1 }, { ifVersion: 0 })).toEqual({ version: 1, rev: 1 });
      const conflict = await client.put(board, 'k', 2, { ifVersion: 0 }).catch((e: BlackboardError) => e);
      expect(conflict).toBeInstanceOf(BlackboardError);
      expect((conflict as BlackboardError).code).toBe(ErrorCode.CONFLICT);
      expect((conflict as BlackboardError).details?.current).toEqual({ version: 1, modRev: 1, value: { a: 1 } });
      const missing = await client.put(board, 'nope', 1, { ifVersion: 3 }).catch((e: BlackboardError) => e);
      expect((missing as BlackboardError).details?.current).toEqual({ version: 0 });
      expect(await codeOf(client.delete(board, 'nope'))).toBe(ErrorCode.NOT_FOUND);
      expect(await codeOf(client.delete(board, 'nope', { ifVersion: 0 }))).toBe(ErrorCode.CONFLICT);
      expect(await codeOf(client.patch(board, 'nope', [{ op: 'add', path: '/a', value: 1 }]))).toBe(ErrorCode.NOT_FOUND);
      expect(await client.delete(board, 'k', { ifVersion: 1 })).toEqual({ rev: 2 });
      const got = await client.get(board, 'k').catch((e: BlackboardError) => e.code);
      expect(got).toBe(ErrorCode.NOT_FOUND);
      client.close();
    });

    it('values round-trip exactly: [] stays [], big integers keep their digits, null is a value', async () => {
      const board = randomBoard();
      const raw = await server.client();
      await raw.put(board, 'empty', []);
      await raw.put(board, 'nil', null);
      expect((await raw.get(board, 'empty')).value).toEqual([]);
      expect((await raw.get(board, 'nil')).value).toBeNull();
      raw.close();
    });

    it('patch: malformed or missing path is BAD_REQUEST, failing test is CONFLICT, nothing written', async () => {
      const board = randomBoard();
      const client = await server.client();
      await client.put(board, 'doc', { a: 1 });
      expect(await codeOf(client.patch(board, 'doc', [{ op: 'remove', path: '/missing' }]))).toBe(ErrorCode.BAD_REQUEST);
      expect(await codeOf(client.patch(board, 'doc', [{ op: 'test', path: '/a', value: 2 }]))).toBe(ErrorCode.CONFLICT);
      const result = await client.patch(board, 'doc', [{ op: 'replace', path: '/a', value: 5 }], { ifVersion: 1 });
      expect(result).toEqual({ version: 2, rev: 2, value: { a: 5 } });
      expect(await codeOf(client.patch(board, 'doc', [{ op: 'replace', path: '/a', value: 6 }], { ifVersion: 1 }))).toBe(ErrorCode.CONFLICT);
      expect((await client.get(board, 'doc')).value).toEqual({ a: 5 });
      client.close();
    });
  });

  describe('txn', () => {
    it('a failed compare changes nothing and names the compare; a good one is one revision', async () => {
      const board = randomBoard();
      const client = await server.client();
      await client.put(board, 'a', 1);
      await client.put(board, 'b', 1);
      const err = (await client
        .txn(board, {
          compare: [
            { key: 'a', version: 1 },
            { key: 'b', version: 7 },
          ],
          ops: [
            { op: 'put', key: 'a', value: 2 },
            { op: 'delete', key: 'b' },
          ],
        })
        .catch((e: unknown) => e)) as BlackboardError;
      expect(err.code).toBe(ErrorCode.CONFLICT);
      expect(err.details?.failed).toEqual([{ key: 'b', expected: 7, actual: 1 }]);
      expect((await client.get(board, 'a')).value).toBe(1);
      expect((await client.list(board)).rev).toBe(2);

      const events: Array<{ rev: number; key: string }[]> = [];
      await client.subscribe({ board, patterns: ['**'] }, { events: (e) => events.push(e) });
      const ok = await client.txn(board, {
        compare: [{ key: 'a', version: 1 }],
        ops: [
          { op: 'put', key: 'a', value: 2 },
          { op: 'put', key: 'c', value: { n: 1 } },
          { op: 'delete', key: 'b' },
        ],
      });
      expect(ok).toEqual({ rev: 3, results: [{ version: 2 }, { version: 1 }, {}] });
      await new Promise((r) => setTimeout(r, 200));
      expect(events).toHaveLength(1);
      expect(events[0]!.map((e) => [e.rev, e.key])).toEqual([
        [3, 'a'],
        [3, 'c'],
        [3, 'b'],
      ]);
      expect(
        await codeOf(
          client.txn(board, {
            compare: [],
            ops: [
              { op: 'put', key: 'x', value: 1 },
              { op: 'delete', key: 'x' },
            ],
          }),
        ),
      ).toBe(ErrorCode.BAD_REQUEST);
      expect(await codeOf(client.txn(board, { compare: [], ops: [{ op: 'put', key: '$locks/x', value: 1 }] }))).toBe(ErrorCode.FORBIDDEN);
      client.close();
    });
  });

  describe('reqId', () => {
    it('a write repeated with the same reqId is applied once and returns the same result', async () => {
      const board = randomBoard();
      const client = await server.client();
      const first = await client.put(board, 'k', 'one', { reqId: 'write-1' });
      await client.put(board, 'other', 1);
      const again = await client.put(board, 'k', 'one', { reqId: 'write-1' });
      expect(again).toEqual(first);
      // The reqId belongs to that request: another value under it is refused, not ignored.
      expect(await codeOf(client.put(board, 'k', 'two', { reqId: 'write-1' }))).toBe(ErrorCode.CONFLICT);
      expect((await client.get(board, 'k')).value).toBe('one');
      expect((await client.list(board)).rev).toBe(2);
      const p1 = await client.patch(board, 'k2', [], { reqId: 'p' }).catch((e: BlackboardError) => e.code);
      expect(p1).toBe(ErrorCode.NOT_FOUND);
      // A failed write is not remembered: its retry runs again.
      await client.put(board, 'k2', { n: 0 });
      const p2 = await client.patch(board, 'k2', [{ op: 'replace', path: '/n', value: 1 }], { reqId: 'p' });
      expect(p2.value).toEqual({ n: 1 });
      client.close();
    });
  });
});
