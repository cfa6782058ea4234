import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEvent } from '../../client/sdk/index.js';
import type { Session } from '../../server/gateway/session.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

const LIMIT = 256 * 1024;
let server: TestServer;
beforeAll(async () => {
  // A revision must fit under the outbound bound, or a subscriber could never make progress.
  server = await startTestServer({ env: { MAX_OUTBOUND_BYTES: String(LIMIT), MAX_REVISION_BYTES: String(208 * 1024) } });
});
afterAll(async () => {
  await server?.stop();
});

describe('slow consumers', () => {
  it('a subscriber that stops reading is closed with 4008, memory stays bounded, and it resumes losing nothing', async () => {
    const board = randomBoard();
    const slow = await RawSocket.open(server.wsUrl);
    const sub = ((await slow.call('subscribe', { board, patterns: ['**'] })).result as { sub: string }).sub;
    slow.ws.pause();

    let maxBuffered = 0;
    const sampler = setInterval(() => {
      for (const s of server.services.sessions) maxBuffered = Math.max(maxBuffered, (s as Session).ws.bufferedAmount);
    }, 5);
    const writer = await server.client();
    const payload = 'x'.repeat(8_000);
    const total = 3_000;
    let lastRev = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < total) {
          const i = next++;
          const { rev } = await writer.put(board, `k/${i % 50}`, { i, payload });
          lastRev = Math.max(lastRev, rev);
        }
      }),
    );
    clearInterval(sampler);
    // Bounded: never more than the limit plus the largest frame (64 KiB of events and one value).
    expect(maxBuffered).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThanOrEqual(LIMIT + 64 * 1024 + 8_200);

    slow.ws.resume();
    expect(await slow.waitClose(15_000)).toBe(4008);
    const received = slow
      .pushes(sub)
      .filter((p) => p.push === 'events')
      .flatMap((p) => p.events as BoardEvent[]);
    const seenRevs = received.map((e) => e.rev);
    expect(seenRevs.length).toBeLessThan(total);
    const resumeFrom = (seenRevs[seenRevs.length - 1] ?? 0) + 1;

    const again = await RawSocket.open(server.wsUrl);
    const resumed = ((await again.call('subscribe', { board, patterns: ['**'], fromRev: resumeFrom })).result as { sub: string }).sub;
    await waitFor(
      () =>
        again
          .pushes(resumed)
          .filter((p) => p.push === 'events')
          .flatMap((p) => p.events as BoardEvent[])
          .some((e) => e.rev === lastRev),
      20_000,
      'the resumed subscription to reach the last revision',
    );
    const rest = again
      .pushes(resumed)
      .filter((p) => p.push === 'events')
      .flatMap((p) => p.events as BoardEvent[])
      .map((e) => e.rev);
    expect([...seenRevs, ...rest]).toEqual(Array.from({ length: lastRev }, (_, i) => i + 1));
    again.close();
  });

  it('a subscriber closed with 4008 under 200 KiB writes resumes with fromRev and ends with every revision exactly once', async () => {
    const board = randomBoard();
    const slow = await RawSocket.open(server.wsUrl);
    const sub = ((await slow.call('subscribe', { board, patterns: ['**'] })).result as { sub: string }).sub;
    slow.ws.pause();
    const writer = await server.client();
    const total = 30;
    let lastRev = 0;
    for (let i = 0; i < total; i++) {
      const { rev } = await writer.put(board, `big/${i % 7}`, { i, fill: 'y'.repeat(200 * 1024) });
      lastRev = rev;
    }
    slow.ws.resume();
    expect(await slow.waitClose(15_000)).toBe(4008);
    const seen = slow
      .pushes(sub)
      .flatMap((p) => (p.events as BoardEvent[] | undefined) ?? [])
      .map((e) => e.rev);
    expect(seen.length).toBeLessThan(total);

    const again = await RawSocket.open(server.wsUrl);
    const fromRev = (seen.at(-1) ?? 0) + 1;
    const resumed = ((await again.call('subscribe', { board, patterns: ['**'], fromRev })).result as { sub: string }).sub;
    const events = () => again.pushes(resumed).flatMap((p) => (p.events as BoardEvent[] | undefined) ?? []);
    await waitFor(() => events().some((e) => e.rev === lastRev), 20_000, 'the resumed subscription to reach the last revision');
    expect(again.closeCode).toBeNull();
    expect([...seen, ...events().map((e) => e.rev)]).toEqual(Array.from({ length: lastRev }, (_, i) => i + 1));
    again.close();
  });
});
