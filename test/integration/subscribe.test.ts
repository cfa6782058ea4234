import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEvent } from '../../client/sdk/index.js';
import { compilePatterns } from '../../shared/protocol/globs.js';
import type { Session } from '../../server/gateway/session.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, waitFor, type TestServer } from '../helpers/server.js';
import { coreBackends } from '../helpers/backends.js';

const KEYS = ['plan/a', 'plan/b/c', 'plan/x/y/z', 'planx/a', 'other/plan/a', 'plan', 'notes/1'];

/** Runs `total` puts over `concurrency` lanes; returns the revision of each key's writes. */
async function writeRun(client: Awaited<ReturnType<TestServer['client']>>, board: string, total: number, concurrency = 16) {
  const written: Array<{ rev: number; key: string; value: number }> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const key = KEYS[i % KEYS.length]!;
        const { rev } = await client.put(board, key, i);
        written.push({ rev, key, value: i });
      }
    }),
  );
  return written.sort((a, b) => a.rev - b.rev);
}

describe.each(coreBackends())('$name', (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await backend.start({ PROGRESS_MS: '300' });
  });
  afterAll(async () => {
    await backend.stop();
  });

  describe('subscriptions', () => {
    it('a plan/** subscriber sees every matching event of a 5000-write run, in order, once, nothing else', async () => {
      const board = randomBoard();
      const writer = await server.client();
      const reader = await server.client();
      const seen: BoardEvent[] = [];
      const frames: number[][] = [];
      await reader.subscribe(
        { board, patterns: ['plan/**'] },
        {
          events: (events) => {
            seen.push(...events);
            frames.push(events.map((e) => e.rev));
          },
        },
      );
      const written = await writeRun(writer, board, 5000);
      const match = compilePatterns(['plan/**']);
      const expected = written.filter((w) => match(w.key));
      await waitFor(() => seen.length >= expected.length, 20_000, 'all events');
      await new Promise((r) => setTimeout(r, 200));
      expect(seen.map((e) => e.rev)).toEqual(expected.map((w) => w.rev));
      expect(seen.map((e) => [e.key, e.value])).toEqual(expected.map((w) => [w.key, w.value]));
      expect(seen.every((e) => e.key.startsWith('plan/'))).toBe(true);
      expect(frames.length).toBeLessThanOrEqual(seen.length);
    });

    it('snapshot, then events from rev + 1; fromRev replays from the stream; progress when idle', async () => {
      const board = randomBoard();
      const client = await server.client();
      await client.put(board, 'a/1', 1);
      await client.put(board, 'a/2', 2);
      await client.put(board, 'b/1', 3);
      const raw = await RawSocket.open(server.wsUrl);
      const snap = await raw.call('subscribe', { board, patterns: ['a/*'], snapshot: true });
      const result = snap.result as { sub: string; rev: number; snapshot: Array<{ key: string; value: number }> };
      expect(result.rev).toBe(3);
      expect(result.snapshot.map((s) => [s.key, s.value])).toEqual([
        ['a/1', 1],
        ['a/2', 2],
      ]);
      const replay = await raw.call('subscribe', { board, patterns: ['**'], fromRev: 2 });
      const replaySub = (replay.result as { sub: string }).sub;
      await client.put(board, 'a/3', 4);
      const events = await raw.until(() => {
        const got = raw
          .pushes(replaySub)
          .filter((p) => p.push === 'events')
          .flatMap((p) => p.events as BoardEvent[]);
        return got.length >= 3 ? got : undefined;
      });
      expect(events.map((e) => e.rev)).toEqual([2, 3, 4]);
      // The reply came before the first push of that subscription.
      const replyIndex = raw.messages.findIndex((m) => m.id === 2);
      const firstPush = raw.messages.findIndex((m) => m.sub === replaySub);
      expect(replyIndex).toBeLessThan(firstPush);
      const progress = await raw.until(() => raw.pushes(result.sub).find((p) => p.push === 'progress'), 5_000);
      expect(progress.rev).toBe(4);
      raw.close();
    });

    it('snapshot and list of a board with 12,000 keys', async () => {
      const board = randomBoard();
      const client = await server.client();
      for (let t = 0; t < 12; t++) {
        const ops = Array.from({ length: 1_000 }, (_, i) => ({ op: 'put' as const, key: `k/${t}/${i}`, value: i }));
        await client.txn(board, { compare: [], ops });
      }
      // Larger than MAX_REPLY_BYTES: the result holds the first part, pushes bring the rest.
      const parts: Array<{ items: number; more: boolean }> = [];
      const snap = await client.subscribe(
        { board, patterns: ['k/**'], snapshot: true },
        { snapshot: (items, more) => parts.push({ items: items.length, more }) },
      );
      expect(snap.more).toBe(true);
      await waitFor(() => parts.at(-1)?.more === false, 10_000, 'the last part of the snapshot');
      expect((snap.snapshot?.length ?? 0) + parts.reduce((n, p) => n + p.items, 0)).toBe(12_000);
      expect(snap.rev).toBe(12);
      const page = await client.list(board, 'k/', { limit: 10_000 });
      expect(page.items).toHaveLength(10_000);
      expect(page.more).toBe(true);
      client.close();
    });

    it('$ keys match only patterns starting with $; ** spans segments, * one', async () => {
      const match = compilePatterns(['**']);
      expect(match('$presence/a')).toBe(false);
      expect(compilePatterns(['$presence/*'])('$presence/a')).toBe(true);
      expect(compilePatterns(['c/**'])('c/x/y')).toBe(true);
      expect(compilePatterns(['c/**'])('cc/x')).toBe(false);
      expect(compilePatterns(['c/**'])('c')).toBe(false);
      expect(compilePatterns(['c/*'])('c/x/y')).toBe(false);
    });

    it('a watcher whose socket is cut mid-run resumes: replica equals the board, every revision seen once', async () => {
      const board = randomBoard();
      const writer = await server.client();
      const watcher = await server.client();
      const seenRevs: number[] = [];
      const watch = watcher.watch(board, ['**'], (change) => {
        if (change.type === 'event') seenRevs.push(change.event.rev);
      });
      await watch.ready();
      let reconnects = 0;
      watcher.on('open', () => reconnects++);
      const run = writeRun(writer, board, 3000, 8);
      for (let tries = 0; reconnects < 3 && tries < 100; tries++) {
        await new Promise((r) => setTimeout(r, 150));
        // Server-side terminate: no close handshake; the client must notice and resume.
        for (const session of server.services.sessions) {
          if ([...session.subscriptions.values()].some((s) => s.board === board)) (session as Session).ws.terminate();
        }
      }
      const written = await run;
      expect(reconnects).toBeGreaterThanOrEqual(3);
      const lastRev = written[written.length - 1]!.rev;
      await waitFor(() => watch.rev >= lastRev, 20_000, 'watcher to catch up');
      const list = await writer.list(board, '');
      expect(watch.values()).toEqual(Object.fromEntries(list.items.map((i) => [i.key, i.value])));
      const distinct = [...new Set(written.map((w) => w.rev))];
      expect(seenRevs).toEqual(distinct);
      watch.close();
    });
  });
});
