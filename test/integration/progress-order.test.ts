import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Progress pushes tell an idle subscriber how far the board has gone. Events can wait a
 * little before they are flushed (behind a backlog rounds are paced); a progress push sent
 * meanwhile must not claim their revisions, or a client skips them as already seen.
 * test/unit/flush-scheduler.test.ts holds a progress push against events kept waiting by
 * a backlog; this test checks the order end to end.
 */
describe('progress pushes', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Progress after 100 ms idle; flush rounds behind a backlog spaced 200 ms apart even for one subscriber.
    server = await startTestServer({ env: { PROGRESS_MS: '100', FANOUT_FRAMES_PER_SECOND: '5' } });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('never claim a revision whose events have not been sent yet', async () => {
    const board = randomBoard();
    const socket = await RawSocket.open(server.wsUrl);
    expect((await socket.call('subscribe', { board, patterns: ['**'] })).ok).toBe(true);
    const writer = await server.client();
    for (let i = 0; i < 15; i++) {
      await writer.put(board, `k/${i}`, i);
      await new Promise((r) => setTimeout(r, 120 + (i % 4) * 40));
    }
    await socket.until(() =>
      socket.pushes().some((p) => p.push === 'events' && (p.events as Array<{ key: string }>).some((e) => e.key === 'k/14')) ? true : undefined,
    );
    let claimed = 0;
    let events = 0;
    for (const push of socket.pushes()) {
      if (push.push === 'progress') claimed = Math.max(claimed, Number(push.rev));
      if (push.push !== 'events') continue;
      for (const event of push.events as Array<{ rev: number }>) {
        expect(event.rev, `event ${event.rev} arrived after progress claimed ${claimed}`).toBeGreaterThan(claimed);
        events++;
      }
    }
    expect(events).toBe(15);
    expect(socket.pushes().filter((p) => p.push === 'progress').length).toBeGreaterThan(0);
    socket.close();
  });
});
