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
