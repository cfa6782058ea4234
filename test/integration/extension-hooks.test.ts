import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Extension } from '../../server/extension.js';
import { defaultExtensions } from '../../server/extensions.js';
import { HISTORY } from '../../server/services.js';
import { codeOf, randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * What the board asks of extensions through its registration points, on a node without
 * history: with no durability source a durable write is refused before it commits; a
 * source an extension registers is what a durable write waits for.
 */
describe('registration points without history', () => {
  let bare: TestServer;
  let gated: TestServer;
  /** Revisions the gated node's durability source was asked about, and how to let each go. */
  const asked: Array<{ board: string; rev: number; release: () => void }> = [];
  const gate: Extension = {
    name: 'test-gate',
    init(services) {
      services.durability.register((board, rev) => new Promise<void>((release) => asked.push({ board, rev, release })));
    },
  };

  beforeAll(async () => {
    bare = await startTestServer();
    gated = await startTestServer({ extensions: (config) => [...defaultExtensions(config), gate] });
  });
  afterAll(async () => {
    await bare.stop();
    await gated.stop();
  });

  it('with no durability source a durable write is UNAVAILABLE and commits nothing; past reads and search need history', async () => {
    expect(bare.services.capabilities.get(HISTORY)).toBeUndefined();
    expect(bare.services.durability.available).toBe(false);
    const client = await bare.client();
    const board = randomBoard('hooks');
    const { rev } = await client.put(board, 'a', 1);
    expect(await codeOf(client.put(board, 'b', 2, { durability: 'durable' }))).toBe('UNAVAILABLE');
    expect(await codeOf(client.txn(board, { compare: [], ops: [{ op: 'put', key: 'c', value: 3 }], durability: 'durable' }))).toBe('UNAVAILABLE');
    expect((await client.list(board, '')).rev).toBe(rev);
    expect(await codeOf(client.get(board, 'a', { atRev: rev }))).toBe('UNAVAILABLE');
    expect(await codeOf(client.search(board, 'x'))).toBe('UNAVAILABLE');
    // The change log comes from the stream.
    expect((await client.history(board)).events.map((e) => e.rev)).toEqual([rev]);
  });

  it('a durable write is acknowledged once the registered durability source holds its revision', async () => {
    const client = await gated.client();
    const board = randomBoard('hooks');
    let acked = false;
    const put = client.put(board, 'k', { v: 1 }, { durability: 'durable' }).then((r) => {
      acked = true;
      return r;
    });
    const wait = async () => {
      const deadline = Date.now() + 10_000;
      while (asked.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    };
    await wait();
    expect(asked.map((a) => [a.board, a.rev])).toEqual([[board, 1]]);
    await new Promise((r) => setTimeout(r, 200));
    expect(acked).toBe(false);
    asked[0]!.release();
    expect((await put).rev).toBe(1);
    // A memory write does not ask.
    await client.put(board, 'k', { v: 2 });
    expect(asked).toHaveLength(1);
  });
});

/**
 * A closed connection's clean-ups run side by side: an extension whose clean-up is slow
 * (here: one that never finishes until the test lets it) holds up neither the release of
 * the connection's locks nor the removal of its presence, which go together.
 */
describe('clean-ups of a closed connection', () => {
  let server: TestServer;
  let slowCleanups = 0;
  const pending: Array<() => void> = [];
  const slow: Extension = {
    name: 'test-slow-cleanup',
    sessionClosed() {
      slowCleanups++;
      return new Promise<void>((release) => pending.push(release));
    },
  };

  beforeAll(async () => {
    // Ahead of locks and presence, so that a clean-up run one extension after another would wait for it.
    server = await startTestServer({ extensions: (config) => [slow, ...defaultExtensions(config)] });
  });
  afterAll(async () => {
    for (const release of pending) release();
    await server.stop();
  });

  it('a lock and a presence are released while another extension is still cleaning up, and no waiter sees the one without the other', async () => {
    const board = randomBoard('cleanup');
    const agent = `holder-${board.slice(-6)}`;
    const holder = await server.client({ agent });
    await holder.acquireLock(board, 'shared', { ttlMs: 120_000 });
    await holder.presence(board, { here: true });
    const observer = await server.client();
    expect((await observer.get(board, `$presence/${agent}`)).value).toMatchObject({ agent, meta: { here: true } });
    const before = slowCleanups;
    holder.close();
    const taken = await observer.acquireLock(board, 'shared', { ttlMs: 5_000, waitMs: 5_000 });
    expect(taken.token).toBeGreaterThan(0);
    expect(await codeOf(observer.get(board, `$presence/${agent}`))).toBe('NOT_FOUND');
    expect(slowCleanups).toBe(before + 1);
    expect(pending.length).toBeGreaterThan(0);
    await observer.releaseLock(board, 'shared', taken.token);
  });
});
