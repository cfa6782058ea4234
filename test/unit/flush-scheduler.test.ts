import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { WebSocket } from 'ws';
import { Subscription } from '../../server/board/subscription.js';
import { FlushScheduler, Session } from '../../server/gateway/session.js';

/**
 * The fan-out scheduler's pacing, on sessions whose socket records what it is given: a
 * round with nothing queued behind it goes at once, and so does one whose events landed on a
 * round under way; events that keep arriving through two rounds wait for the spacing, and a
 * progress push never overtakes them meanwhile.
 */

interface Sent {
  at: number;
  text: string;
}

/** A socket that records its frames; each send takes `costMs`, as a system call under load does. */
function recordingSocket(sent: Sent[], onSend?: () => void, costMs = 0): WebSocket {
  const socket = {
    bufferedAmount: 0,
    send(frame: string | Buffer) {
      const until = performance.now() + costMs;
      while (performance.now() < until);
      sent.push({ at: performance.now(), text: frame.toString() });
      onSend?.();
    },
    close() {},
  };
  return socket as unknown as WebSocket;
}

const log = pino({ level: 'silent' });
const nextTurn = () => new Promise((r) => setImmediate(r));

function sessions(scheduler: FlushScheduler, count: number, onSend?: (i: number) => void, costMs = 0) {
  return Array.from({ length: count }, (_, i) => {
    const sent: Sent[] = [];
    const session = new Session(
      `c${i}`,
      'agent',
      recordingSocket(sent, () => onSend?.(i), costMs),
      log,
      scheduler,
      { maxOutboundBytes: 1 << 20 },
    );
    const sub = new Subscription('s1', 'b', ['**'], 'value', session);
    sub.live = true;
    return { session, sub, sent };
  });
}

const event = (rev: number) => `{"rev":${rev},"key":"k","type":"put","version":${rev},"value":${rev},"actor":"a","ts":0}`;

describe('FlushScheduler', () => {
  it('flushes a round with nothing queued behind it at once, however soon after the last', async () => {
    // 20 sessions (one slice) at 100 frames/s: a paced round would wait 200 ms.
    const scheduler = new FlushScheduler(100);
    const all = sessions(scheduler, 20);
    for (let rev = 1; rev <= 3; rev++) {
      for (const { session, sub } of all) session.queueEvents(sub, event(rev), rev);
      await nextTurn();
      for (const { sent } of all) expect(sent.map((s) => JSON.parse(s.text).events[0].rev)).toContain(rev);
    }
    expect(scheduler.backlogMs()).toBe(0);
  });

  it('sends an event that lands on a round under way right after that round, unspaced', async () => {
    // 100 sessions at 100 frames/s: a paced round would start 1 s after this one began.
    const scheduler = new FlushScheduler(100);
    // Sends slow enough that the round runs in several slices; while its first slice runs,
    // the first session's next event arrives (queued as I/O would queue it, between slices).
    const all = sessions(
      scheduler,
      100,
      (i) => {
        if (i === 1 && all[1]!.sent.length === 1) setImmediate(() => first.session.queueEvents(first.sub, event(2), 2));
      },
      0.2,
    );
    const first = all[0]!;
    const started = performance.now();
    for (const { session, sub } of all) session.queueEvents(sub, event(1), 1);
    while (all[99]!.sent.length === 0) await nextTurn();
    expect(first.sent).toHaveLength(1);
    const deadline = performance.now() + 5_000;
    while (first.sent.length < 2 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    expect(JSON.parse(first.sent[1]!.text).events[0].rev).toBe(2);
    // The round took about 20 ms; a paced one would have waited for 1 s.
    expect(first.sent[1]!.at - started).toBeLessThan(500);
    expect(scheduler.backlogMs()).toBe(0);
  });

  it('spaces the next round when events keep arriving through two rounds, and holds progress back meanwhile', async () => {
    const scheduler = new FlushScheduler(100);
    // Round 1 (100 sessions, slices of 32): once its second slice is out, revision 2 arrives
    // for the 64 sessions it flushed. Round 2 (those 64, two slices): once its first slice is
    // out, the first session's revision 3 arrives. Round 3 waits for the spacing, 64 sessions
    // at 100 frames/s, from round 2's start.
    const all = sessions(
      scheduler,
      100,
      (i) => {
        if (i === 63 && all[63]!.sent.length === 1) setImmediate(() => all.slice(0, 64).forEach(({ session, sub }) => session.queueEvents(sub, event(2), 2)));
        if (i === 1 && all[1]!.sent.length === 2) setImmediate(() => first.session.queueEvents(first.sub, event(3), 3));
      },
      0.2,
    );
    const first = all[0]!;
    for (const { session, sub } of all) session.queueEvents(sub, event(1), 1);
    while (all[63]!.sent.length < 2) await nextTurn();
    const secondRoundAt = first.sent[1]!.at;
    expect(first.sent).toHaveLength(2);
    // Revision 3 waits for the next round; a progress push claiming it must not go out first.
    first.session.sendProgress(first.sub, 3);
    expect(first.sent).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 40));
    expect(first.sent).toHaveLength(2);
    expect(scheduler.backlogMs()).toBeGreaterThan(0);
    const deadline = performance.now() + 5_000;
    while (first.sent.length < 3 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(JSON.parse(first.sent[2]!.text).events[0].rev).toBe(3);
    // Timers may fire a little early.
    expect(first.sent[2]!.at - secondRoundAt).toBeGreaterThanOrEqual(635);
  });
});
