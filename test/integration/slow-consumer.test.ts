import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEvent } from '../../client/sdk/index.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

const LIMIT = 256 * 1024;
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { MAX_OUTBOUND_BYTES: String(LIMIT) } });
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
      for (const s of server.services.sessions) maxBuffered = Math.max(maxBuffered, s.ws.bufferedAmount);
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
});
