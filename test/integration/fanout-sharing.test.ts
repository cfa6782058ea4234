import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePatterns } from '../../shared/protocol/globs.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Frames are built once per flush round and shared by subscriptions with the same id,
 * patterns and revision range. These subscribers differ in each of those (and in mode),
 * and receive their events in the same rounds: each must get exactly its own events.
 */
describe('shared event frames', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('subscribers differing in patterns, sub id, position or mode each get exactly their events', async () => {
    const board = randomBoard();
    const writer = await server.client();
    // Subscriptions: [socket index, patterns, mode]. Sockets 0 and 1 hold the same two pattern
    // sets under swapped sub ids; sockets 2-3 share everything; socket 4 is in patch mode.
    const plan: Array<[number, string[], 'value' | 'patch']> = [
      [0, ['**'], 'value'],
      [0, ['a/**'], 'value'],
      [1, ['a/**'], 'value'],
      [1, ['**'], 'value'],
      [2, ['b/**'], 'value'],
      [3, ['b/**'], 'value'],
      [4, ['**'], 'patch'],
    ];
    const sockets = await Promise.all(Array.from({ length: 6 }, () => RawSocket.open(server.wsUrl)));
    const subs: Array<{ socket: RawSocket; id: string; patterns: string[]; from?: number }> = [];
    for (const [index, patterns, mode] of plan) {
      const socket = sockets[index]!;
      const reply = await socket.call('subscribe', { board, patterns, mode });
      expect(reply.ok).toBe(true);
      subs.push({ socket, id: (reply.result as { sub: string }).sub, patterns });
    }

    const written: Array<{ rev: number; keys: string[] }> = [];
    const write = async (i: number) => {
      const a = `a/${i % 7}`;
      const b = `b/${i % 5}`;
      if (i % 3 === 0) {
        const { rev } = await writer.txn(board, {
          compare: [],
          ops: [
            { op: 'put', key: a, value: { i } },
            { op: 'put', key: b, value: { i } },
          ],
        });
        written.push({ rev, keys: [a, b] });
      } else {
        const key = i % 3 === 1 ? a : b;
        written.push({ rev: (await writer.put(board, key, { i, list: [i, i + 1] })).rev, keys: [key] });
      }
    };
    let late: Promise<void> | null = null;
    // Many writes in flight (frames of many revisions), then one at a time (frames of one).
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < 1_000) {
          const i = next++;
          if (i === 400) {
            // Joins mid-run at an earlier position: its frames cover other revision ranges.
            late = (async () => {
              const reply = await sockets[5]!.call('subscribe', { board, patterns: ['**'], fromRev: 100 });
              expect(reply.ok).toBe(true);
              subs.push({ socket: sockets[5]!, id: (reply.result as { sub: string }).sub, patterns: ['**'], from: 100 });
            })();
          }
          await write(i);
        }
      }),
    );
    for (let i = 1_000; i < 1_200; i++) await write(i);
    await late;
    written.sort((x, y) => x.rev - y.rev);

    const received = (sub: { socket: RawSocket; id: string }) =>
      sub.socket.pushes(sub.id).flatMap((p) => (p.push === 'events' ? (p.events as Array<{ rev: number; key: string }>) : []));
    for (const sub of subs) {
      const from = sub.from ?? 1;
      const match = compilePatterns(sub.patterns);
      const expected = written
        .filter((w) => w.rev >= from)
        .flatMap((w) =>
          w.keys
            .filter(match)
            .sort()
            .map((key) => `${w.rev}:${key}`),
        );
      await sub.socket.until(() => (received(sub).length >= expected.length ? true : undefined));
      // A frame pushed for one subscription never carries another's events, and the order is the commit order.
      const got = received(sub).map((e) => `${e.rev}:${e.key}`);
      const byRev = (x: string, y: string) => Number(x.split(':')[0]) - Number(y.split(':')[0]) || x.localeCompare(y);
      expect(got.slice().sort(byRev)).toEqual(expected);
      expect(got.map((g) => Number(g.split(':')[0]))).toEqual(expected.map((g) => Number(g.split(':')[0])));
    }
    for (const s of sockets) s.close();
  });
});
