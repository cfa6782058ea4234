import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

/** PROTOCOL.md, "Settled after v1 shipped": progress and `mode: "patch"`. */

interface Event {
  rev: number;
  key: string;
  version: number;
  value?: unknown;
  patch?: unknown;
}

// Above 2 s, so that a checker ticking once a second shows whether repeats keep the period.
const PROGRESS_MS = 2_200;
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { PROGRESS_MS: String(PROGRESS_MS) } });
});
afterAll(async () => {
  await server?.stop();
});

describe('settled rules: subscriptions', () => {
  it('progress comes no later than PROGRESS_MS + 1 s after the subscription’s last frame and repeats every PROGRESS_MS while idle', async () => {
    const board = randomBoard();
    const raw = await RawSocket.open(server.wsUrl);
    const arrivals: Array<{ push: string; at: number }> = [];
    raw.ws.on('message', (data) => {
      const push = (JSON.parse(data.toString()) as { push?: string }).push;
      if (push) arrivals.push({ push, at: performance.now() });
    });
    const sub = ((await raw.call('subscribe', { board, patterns: ['**'] })).result as { sub: string }).sub;
    await raw.call('put', { board, key: 'k', value: 1 });
    await raw.until(() => (raw.pushes(sub).filter((p) => p.push === 'progress').length >= 4 ? true : undefined), 20_000);
    const lastEvents = arrivals.findLast((a) => a.push === 'events')!;
    const progress = arrivals.filter((a) => a.push === 'progress' && a.at > lastEvents.at).map((a) => a.at);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    // Timing on a shared machine: a quarter second of slack for the event loop and the socket.
    const slack = 250;
    expect(progress[0]! - lastEvents.at).toBeLessThanOrEqual(PROGRESS_MS + 1_000 + slack);
    expect(progress[0]! - lastEvents.at).toBeGreaterThanOrEqual(PROGRESS_MS - slack);
    for (let i = 1; i < progress.length; i++) {
      const gap = progress[i]! - progress[i - 1]!;
      expect(gap).toBeGreaterThanOrEqual(PROGRESS_MS - slack);
      expect(gap).toBeLessThanOrEqual(PROGRESS_MS + slack);
    }
    // Each after the event names the board's latest revision.
    const pushes = raw.pushes(sub);
    const after = pushes.slice(pushes.findLastIndex((p) => p.push === 'events') + 1);
    expect(after.map((p) => [p.push, p.rev])).toEqual(after.map(() => ['progress', 1]));
    raw.close();
  });

  it('mode: "patch": only events of patch ops carry patch instead of value, when the previous version was delivered and the patch is smaller', async () => {
    const board = randomBoard();
    const writer = await RawSocket.open(server.wsUrl);
    const big = { text: 'x'.repeat(400), n: 0 };
    await writer.call('put', { board, key: 'seen', value: big });
    await writer.call('put', { board, key: 'unseen', value: big });

    const raw = await RawSocket.open(server.wsUrl);
    // The snapshot delivers `seen` (version 1); `unseen` is outside the patterns until later.
    const sub = ((await raw.call('subscribe', { board, patterns: ['seen', 'later'], snapshot: true, mode: 'patch' })).result as { sub: string }).sub;
    const replace = (n: number) => [{ op: 'replace', path: '/n', value: n }];
    await writer.call('patch', { board, key: 'seen', patch: replace(1) }); // rev 3: patch (snapshot held v1)
    await writer.call('txn', { board, compare: [], ops: [{ op: 'patch', key: 'seen', patch: replace(2) }] }); // rev 4: patch, in a txn
    await writer.call('put', { board, key: 'seen', value: { ...big, n: 3 } }); // rev 5: a put carries value
    await writer.call('patch', { board, key: 'seen', patch: [{ op: 'replace', path: '/text', value: 'y'.repeat(600) }] }); // rev 6: patch not smaller
    await writer.call('put', { board, key: 'later', value: big }); // rev 7
    await writer.call('patch', { board, key: 'later', patch: replace(9) }); // rev 8: patch
    await writer.call('patch', { board, key: 'unseen', patch: replace(9) }); // rev 9: not matched
    await writer.call('put', { board, key: 'later', value: 'done' }); // rev 10

    const events = await raw.until(() => {
      const got = raw.pushes(sub).flatMap((p) => (p.events as Event[] | undefined) ?? []);
      return got.some((e) => e.rev === 10) ? got : undefined;
    });
    const shape = events.map((e) => [e.rev, e.key, e.version, 'patch' in e ? 'patch' : 'value']);
    expect(shape).toEqual([
      [3, 'seen', 2, 'patch'],
      [4, 'seen', 3, 'patch'],
      [5, 'seen', 4, 'value'],
      [6, 'seen', 5, 'value'],
      [7, 'later', 1, 'value'],
      [8, 'later', 2, 'patch'],
      [10, 'later', 3, 'value'],
    ]);
    for (const e of events) expect('value' in e && 'patch' in e).toBe(false);
    expect(events[0]!.patch).toEqual(replace(1));

    // A subscription resumed with fromRev held nothing before: its first event for each key carries value.
    const resumed = ((await raw.call('subscribe', { board, patterns: ['seen'], fromRev: 4, mode: 'patch' })).result as { sub: string }).sub;
    const replayed = await raw.until(() => {
      const got = raw.pushes(resumed).flatMap((p) => (p.events as Event[] | undefined) ?? []);
      return got.length >= 3 ? got : undefined;
    });
    expect(replayed.map((e) => [e.rev, 'patch' in e ? 'patch' : 'value'])).toEqual([
      [4, 'value'],
      [5, 'value'],
      [6, 'value'],
    ]);
    raw.close();
    writer.close();
  });
});
