import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Command } from '@langchain/langgraph';
import { emptyCheckpoint, uuid6, type CheckpointTuple } from '@langchain/langgraph-checkpoint';
import { BlackboardError, ErrorCode, type BlackboardClient } from '../../client/sdk/index.js';
import { BlackboardSaver, LangGraphErrorCode, ThreadKeys } from '../../client/langgraph/index.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';
import { startHistoryServer, type HistoryServer } from './fixtures/history-server.js';
import { relayGraph } from './fixtures/relay-graph.js';

let history: HistoryServer;
let server: TestServer;
let client: BlackboardClient;

beforeAll(async () => {
  history = await startHistoryServer('bblgsaver');
  server = history.server;
  client = await server.client();
});
afterAll(async () => {
  await history.stop();
});

async function keysUnder(board: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await client.list(board, prefix, { limit: 16, ...(after ? { after } : {}) });
    keys.push(...page.items.map((i) => i.key));
    if (!page.more) return keys;
    after = page.items[page.items.length - 1]!.key;
  }
}

const meta = { source: 'update' as const, step: -1, parents: {} };

describe('BlackboardSaver', () => {
  it('with keep = 5, a 50-superstep run leaves 5 checkpoints and every pending write of the latest', async () => {
    const board = randomBoard('lgkeep');
    const saver = new BlackboardSaver({ client, board, keep: 5 });
    const graph = relayGraph(saver, { rounds: 26, interruptAt: 25 });
    const config = { configurable: { thread_id: 'long' }, recursionLimit: 200 };
    const interrupted = await graph.invoke({ count: 0 }, config);
    expect((interrupted as { __interrupt__?: unknown[] }).__interrupt__).toHaveLength(1);

    const all: CheckpointTuple[] = [];
    for await (const t of saver.list(config)) all.push(t);
    expect(all).toHaveLength(5);
    expect((all[0]!.metadata?.step ?? 0) + 2).toBeGreaterThanOrEqual(50);
    // The interrupted superstep's writes are all there: fast's result and slow's interrupt.
    const latest = await saver.getTuple(config);
    expect(latest?.checkpoint.id).toBe(all[0]!.checkpoint.id);
    const writes = latest?.pendingWrites ?? [];
    expect(writes.map(([, channel]) => channel)).toEqual(expect.arrayContaining(['log', '__interrupt__']));
    expect(writes.find(([, channel]) => channel === 'log')?.[2]).toEqual(['fast:25']);

    // Nothing of a dropped checkpoint stays: checkpoint keys, writes and channel values all belong to the kept five.
    const keys = new ThreadKeys('lg', 'long', '');
    const kept = new Set(all.map((t) => keys.checkpoint(t.checkpoint.id)));
    const stored = await keysUnder(board, `${keys.head}/`);
    expect(stored.filter((k) => !k.includes('/', `${keys.head}/`.length))).toHaveLength(5);
    expect(stored.every((k) => [...kept].some((c) => k === c || k.startsWith(`${c}/`)))).toBe(true);
    const used = new Set(all.flatMap((t) => Object.entries(t.checkpoint.channel_versions).map(([ch, v]) => keys.blob(ch, v))));
    const blobs = await keysUnder(board, `${keys.base}/channels/`);
    expect(blobs.length).toBeGreaterThan(0);
    expect(blobs.filter((k) => !used.has(k))).toEqual([]);
    // Each kept checkpoint reads back whole.
    for (const t of all) expect(await saver.getTuple(t.config)).toEqual(t);

    // The run resumes from the kept state, reusing the pending write of `fast` (its log line appears once).
    const done = await graph.invoke(new Command({ resume: 'go' }), config);
    expect(done.count).toBe(26);
    expect(done.log.filter((l: string) => l === 'fast:25')).toHaveLength(1);
  });

  it('reads the latest checkpoint in one request', async () => {
    const saver = new BlackboardSaver({ client, board: randomBoard('lgone') });
    const graph = relayGraph(saver, { rounds: 3, interruptAt: 2 });
    const config = { configurable: { thread_id: 'one' } };
    await graph.invoke({ count: 0 }, config);
    const reader = new BlackboardSaver({ client, board: (saver as unknown as { ctx: { board: string } }).ctx.board });
    const spy = vi.spyOn(client, 'request');
    try {
      const tuple = await reader.getTuple(config);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(tuple?.checkpoint.channel_values).toMatchObject({ count: 2 });
      const channels = (tuple?.pendingWrites ?? []).map(([, channel]) => channel);
      expect(channels).toEqual(expect.arrayContaining(['log', '__interrupt__']));
    } finally {
      spy.mockRestore();
    }
  });

  it('splits a channel value larger than a board key into parts, and reads it back', async () => {
    const board = randomBoard('lgbig');
    const saver = new BlackboardSaver({ client, board });
    const big = 'x'.repeat(5 * 1024 * 1024);
    const checkpoint = { ...emptyCheckpoint(), channel_values: { big, small: 1 }, channel_versions: { big: 1, small: 1 } };
    const config = await saver.put({ configurable: { thread_id: 'big' } }, checkpoint, meta, { big: 1, small: 1 });
    await saver.putWrites(config, [['big', big]], 'task-1');
    const got = await saver.getTuple({ configurable: { thread_id: 'big' } });
    expect(got?.checkpoint.channel_values).toEqual({ big, small: 1 });
    expect(got?.pendingWrites).toEqual([['task-1', 'big', big]]);
    const byId = await saver.getTuple(config);
    expect(byId?.checkpoint.channel_values.big).toBe(big);
    // No key the saver wrote passes the server's 256 KiB value limit.
    const keys = await keysUnder(board, 'lg/');
    expect(keys.length).toBeGreaterThan(40);
    for (const key of keys) expect(Buffer.byteLength(JSON.stringify((await client.get(board, key)).value))).toBeLessThanOrEqual(256 * 1024);
  });

  it('stores any thread id and namespace under valid keys, and refuses what cannot be a key', async () => {
    const board = randomBoard('lgnames');
    const saver = new BlackboardSaver({ client, board, durability: 'memory' });
    const threads = ['a/b', '', '~', '.', ' ', '\u0000\u001f', 'ünï😀', 'x'.repeat(200)].slice(0);
    for (const thread of threads.filter((t) => t !== '')) {
      for (const ns of ['', 'child:1|grand/child']) {
        const checkpoint = { ...emptyCheckpoint(), id: uuid6(-1), channel_values: { v: thread }, channel_versions: { v: 1 } };
        await saver.put({ configurable: { thread_id: thread, checkpoint_ns: ns } }, checkpoint, meta, { v: 1 });
        const got = await saver.getTuple({ configurable: { thread_id: thread, checkpoint_ns: ns } });
        expect(got?.checkpoint.channel_values).toEqual({ v: thread });
        expect(got?.config.configurable).toMatchObject({ thread_id: thread, checkpoint_ns: ns });
      }
    }
    const listed: CheckpointTuple[] = [];
    for await (const t of saver.list({ configurable: {} })) listed.push(t);
    expect(new Set(listed.map((t) => `${String(t.config.configurable?.thread_id)}|${String(t.config.configurable?.checkpoint_ns)}`)).size).toBe(14);

    await expect(saver.put({ configurable: { thread_id: 'x'.repeat(600) } }, emptyCheckpoint(), meta, {})).rejects.toMatchObject({
      code: LangGraphErrorCode.INVALID_KEY,
    });
    await expect(saver.put({ configurable: { thread_id: 'ok' } }, { ...emptyCheckpoint(), id: 'not-a-uuid' }, meta, {})).rejects.toMatchObject({
      code: LangGraphErrorCode.INVALID_CHECKPOINT_ID,
    });
    await expect(saver.put({ configurable: { thread_id: 'lone\ud800' } }, emptyCheckpoint(), meta, {})).rejects.toMatchObject({
      code: LangGraphErrorCode.INVALID_KEY,
    });
    expect(await saver.getTuple({ configurable: { thread_id: 'ok' } })).toBeUndefined();
  });

  it('durable puts need a server with history, and say so', async () => {
    await using plain = await startTestServer();
    const plainClient = await plain.client();
    const saver = new BlackboardSaver({ client: plainClient, board: randomBoard('lgnodb') });
    const err = await saver.put({ configurable: { thread_id: 't' } }, emptyCheckpoint(), meta, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlackboardError);
    expect((err as BlackboardError).code).toBe(ErrorCode.UNAVAILABLE);
    expect(await saver.getTuple({ configurable: { thread_id: 't' } })).toBeUndefined();
  });
});
