import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boardKeys } from '../../server/board/keys.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** PROTOCOL.md, "Settled after v1 shipped": boards and epochs. */

type Reply = Record<string, unknown>;
const codeOf = (r: Reply) => (r.error as { code: string } | undefined)?.code ?? 'ok';
interface BoardsResult {
  boards: Array<{ board: string; rev: number; epoch: string }>;
  more: boolean;
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const uniquePrefix = () => `b${randomBytes(5).toString('hex')}`;

describe('settled rules: boards', () => {
  it('Boards: reading, listing or subscribing to a board creates nothing (20 reads of never-written boards leave boards empty)', async () => {
    const prefix = uniquePrefix();
    const raw = await RawSocket.open(server.wsUrl);
    const names = Array.from({ length: 20 }, (_, i) => `${prefix}-${i}`);
    const subs: string[] = [];
    for (const [i, board] of names.entries()) {
      const op = i % 5;
      if (op === 0) expect(codeOf(await raw.call('get', { board, key: 'k' }))).toBe('NOT_FOUND');
      if (op === 1) expect((await raw.call('list', { board, prefix: '' })).result).toEqual({ items: [], rev: 0, more: false });
      if (op === 2) expect((await raw.call('history', { board })).result).toEqual({ events: [], more: false });
      if (op === 3) {
        const reply = await raw.call('subscribe', { board, patterns: ['**'], snapshot: true });
        expect(reply.result).toMatchObject({ rev: 0, snapshot: [] });
        subs.push((reply.result as { sub: string }).sub);
      }
      if (op === 4) expect(codeOf(await raw.call('subscribe', { board, patterns: ['k'], fromRev: 1 }))).toBe('ok');
      // A write refused before it commits is no revision either.
      if (i === 19) expect(codeOf(await raw.call('put', { board, key: 'k', value: 1, ifVersion: 3 }))).toBe('CONFLICT');
    }
    expect((await raw.call('boards', { prefix })).result).toEqual({ boards: [], more: false });
    // Nothing was created for the reads (the refused write may leave an empty board behind, never listed).
    for (const board of names.slice(0, 19)) expect(await server.services.redis.exists(boardKeys(board).meta)).toBe(0);

    // A subscription to a board that did not exist yet sees its first write, in the epoch it was told.
    const watched = names[3]!;
    const told = (raw.messages.find((m) => (m.result as { sub?: string } | undefined)?.sub === subs[0])!.result as { epoch: string }).epoch;
    const writer = await RawSocket.open(server.wsUrl);
    expect((await writer.call('put', { board: watched, key: 'k', value: 1 })).result).toEqual({ version: 1, rev: 1 });
    await raw.until(() => raw.pushes(subs[0]).find((p) => p.push === 'events'));
    const listed = (await raw.call('boards', { prefix })).result as BoardsResult;
    expect(listed.boards.map((b) => [b.board, b.rev])).toEqual([[watched, 1]]);
    expect(listed.boards[0]!.epoch).toBe(told);
    const resumed = await raw.call('subscribe', { board: watched, patterns: ['**'], fromRev: 1, epoch: told });
    expect(codeOf(resumed)).toBe('ok');
    raw.close();
    writer.close();
  });

  it('Boards: boards lists boards with at least one committed revision, by plain prefix, with their current rev, in pages (after, more)', async () => {
    const prefix = uniquePrefix();
    const raw = await RawSocket.open(server.wsUrl);
    const names = [`${prefix}-a`, `${prefix}-ab`, `${prefix}-b`, `${prefix}-c`, `${prefix}x`];
    for (const [i, board] of names.entries()) {
      for (let n = 0; n <= i; n++) await raw.call('put', { board, key: `k${n}`, value: n });
    }
    const all = (await raw.call('boards', { prefix })).result as BoardsResult;
    expect(all.boards.map((b) => [b.board, b.rev])).toEqual(names.map((b, i) => [b, i + 1]));
    expect(all.more).toBe(false);
    // A plain string prefix: `-a` covers `-ab`, and a prefix with no board lists none.
    expect(((await raw.call('boards', { prefix: `${prefix}-a` })).result as BoardsResult).boards.map((b) => b.board)).toEqual(names.slice(0, 2));
    expect((await raw.call('boards', { prefix: `${prefix}-z` })).result).toEqual({ boards: [], more: false });

    const paged: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const reply = (await raw.call('boards', { prefix, limit: 2, ...(after ? { after } : {}) })).result as BoardsResult;
      paged.push(...reply.boards.map((b) => b.board));
      if (!reply.more) break;
      expect(reply.boards).toHaveLength(2);
      after = reply.boards[reply.boards.length - 1]!.board;
    }
    expect(paged).toEqual(names);
    raw.close();
  });

  it('A board that never lost data starts its epoch at revision 0, and fromRev: 0 means 1', async () => {
    const board = `${uniquePrefix()}-epoch`;
    const raw = await RawSocket.open(server.wsUrl);
    for (let i = 1; i <= 3; i++) await raw.call('put', { board, key: `k${i}`, value: i });
    expect(await server.services.redis.hget(boardKeys(board).meta, 'epochRev')).toBe('0');
    for (const fromRev of [0, 1]) {
      const reply = await raw.call('subscribe', { board, patterns: ['**'], fromRev });
      expect(codeOf(reply)).toBe('ok');
      const sub = (reply.result as { sub: string }).sub;
      const events = await raw.until(() => {
        const got = raw.pushes(sub).flatMap((p) => (p.events as Array<{ rev: number }> | undefined) ?? []);
        return got.length >= 3 ? got : undefined;
      });
      expect(events.map((e) => e.rev)).toEqual([1, 2, 3]);
    }
    raw.close();
  });
});
