import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEvent, KeyRecord } from '../../client/sdk/index.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * PROTOCOL.md, "Settled after v1 shipped", Sizes: no reply or push frame is larger than
 * needed to make progress, and no revision is too large to be delivered.
 */

type Reply = Record<string, unknown>;
const codeOf = (r: Reply) => (r.error as { code: string } | undefined)?.code ?? 'ok';
const VALUE_CHARS = 200 * 1024;
const COUNT = 50;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/** 50 values of 200 KiB (10 MiB, more than the 8 MiB outbound bound), written one by one. */
async function bigBoard(): Promise<string> {
  const board = randomBoard();
  const writer = await server.client();
  for (let i = 0; i < COUNT; i++) {
    await writer.put(board, `big/${String(i).padStart(2, '0')}`, { i, fill: String(i % 10).repeat(VALUE_CHARS) });
  }
  writer.close();
  return board;
}

describe('settled rules: sizes', () => {
  let board: string;
  beforeAll(async () => {
    board = await bigBoard();
  });

  it('Sizes: list and history stop early with more: true once a reply reaches MAX_REPLY_BYTES (at least one item)', async () => {
    const raw = await RawSocket.open(server.wsUrl);
    const maxReply = server.services.config.MAX_REPLY_BYTES;
    const keys: string[] = [];
    let after: string | undefined;
    let replies = 0;
    for (;;) {
      const reply = await raw.call('list', { board, prefix: 'big/', ...(after ? { after } : {}) });
      const result = reply.result as { items: KeyRecord[]; more: boolean };
      replies++;
      expect(result.items.length).toBeGreaterThanOrEqual(1);
      // Past the bound by at most the item that reached it.
      expect(raw.texts.at(-1)!.length).toBeLessThan(maxReply + VALUE_CHARS + 1_024);
      keys.push(...result.items.map((i) => i.key));
      if (!result.more) break;
      after = result.items.at(-1)!.key;
    }
    expect(keys).toEqual(Array.from({ length: COUNT }, (_, i) => `big/${String(i).padStart(2, '0')}`));
    expect(replies).toBeGreaterThan(5);

    const revs: number[] = [];
    let fromRev = 1;
    for (let page = 0; page < 100; page++) {
      const result = (await raw.call('history', { board, fromRev })).result as { events: BoardEvent[]; more: boolean };
      expect(result.events.length).toBeGreaterThanOrEqual(1);
      expect(raw.texts.at(-1)!.length).toBeLessThan(maxReply + VALUE_CHARS + 1_024);
      revs.push(...result.events.map((e) => e.rev));
      if (!result.more) break;
      fromRev = result.events.at(-1)!.rev + 1;
    }
    expect(revs).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    // Sending the same request again answers the same way: nothing loops on 4008.
    expect(codeOf(await raw.call('list', { board, prefix: '' }))).toBe('ok');
    expect(raw.closeCode).toBeNull();
    raw.close();
  });

  it('Sizes: a subscribe snapshot comes in several frames, all of it before the first event', async () => {
    const raw = await RawSocket.open(server.wsUrl);
    const reply = await raw.call('subscribe', { board, patterns: ['big/*', 'after'], snapshot: true });
    const result = reply.result as { sub: string; rev: number; snapshot: KeyRecord[]; more?: boolean };
    expect(result.rev).toBe(COUNT);
    expect(result.more).toBe(true);
    const writer = await server.client();
    await writer.put(board, 'after', 'the snapshot');
    const parts = await raw.until(() => {
      const pushes = raw.pushes(result.sub);
      return pushes.some((p) => p.push === 'events') ? pushes : undefined;
    }, 30_000);
    const snapshotPushes = parts.filter((p) => p.push === 'snapshot');
    expect(snapshotPushes.length).toBeGreaterThan(3);
    // Every snapshot push comes before the first events push, the last one says more: false.
    const firstEvents = parts.findIndex((p) => p.push === 'events');
    expect(parts.slice(0, firstEvents).every((p) => p.push === 'snapshot')).toBe(true);
    expect(snapshotPushes.map((p) => p.more)).toEqual([...snapshotPushes.slice(1).map(() => true), false]);
    const items = [...result.snapshot, ...snapshotPushes.flatMap((p) => p.items as KeyRecord[])];
    expect(items.map((i) => i.key)).toEqual(Array.from({ length: COUNT }, (_, i) => `big/${String(i).padStart(2, '0')}`));
    expect((parts[firstEvents]!.events as BoardEvent[]).map((e) => e.rev)).toEqual([COUNT + 1]);
    expect(raw.closeCode).toBeNull();
    writer.close();
    raw.close();
  });

  it('Sizes: the SDK list and history iterators follow more by themselves (all 50 values of 200 KiB)', async () => {
    const client = await server.client();
    const values: number[] = [];
    for await (const item of client.iterateList<{ i: number; fill: string }>(board, 'big/')) {
      expect(item.value.fill).toHaveLength(VALUE_CHARS);
      values.push(item.value.i);
    }
    expect(values).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    const revs: number[] = [];
    for await (const event of client.iterateHistory(board, { toRev: COUNT })) revs.push(event.rev);
    expect(revs).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    // A watch gathers a snapshot sent in several frames before it says it is ready.
    const watch = client.watch(board, ['big/*']);
    await watch.ready();
    expect(watch.replica.size).toBeGreaterThanOrEqual(COUNT);
    watch.close();
    client.close();
  });

  it('Sizes: a revision whose events together pass MAX_REVISION_BYTES is TOO_LARGE at write time, applying nothing', async () => {
    // A node whose revision bound a few patched values pass: at the default 4 MiB, so many
    // large values would pass a txn's patch work budget first (TOO_LARGE with reason "work").
    await using node = await startTestServer({ env: { MAX_REVISION_BYTES: String(1024 * 1024) } });
    const target = randomBoard();
    const raw = await RawSocket.open(node.wsUrl);
    const limit = node.services.config.MAX_REVISION_BYTES;
    // Frames are small (MAX_FRAME_BYTES), but patches of large values make large revisions.
    const valueChars = 250 * 1024;
    const count = Math.ceil(limit / valueChars) + 1;
    for (let i = 0; i < count; i++) await raw.call('put', { board: target, key: `v/${i}`, value: { fill: 'z'.repeat(valueChars) } });
    const ops = Array.from({ length: count }, (_, i) => ({ op: 'patch', key: `v/${i}`, patch: [{ op: 'add', path: '/touched', value: true }] }));
    const reply = await raw.call('txn', { board: target, compare: [], ops });
    expect(codeOf(reply)).toBe('TOO_LARGE');
    expect((reply.error as { details: Record<string, unknown> }).details).toMatchObject({ limit });
    const listed = (await raw.call('list', { board: target, prefix: '', limit: 1 })).result as { rev: number };
    expect(listed.rev).toBe(count);
    expect(codeOf(await raw.call('get', { board: target, key: 'v/0' }))).toBe('ok');
    expect(((await raw.call('get', { board: target, key: 'v/0' })).result as { value: Record<string, unknown> }).value).not.toHaveProperty('touched');
    // Under the bound, the same kind of txn commits as one revision.
    expect((await raw.call('txn', { board: target, compare: [], ops: ops.slice(0, 4) })).result).toMatchObject({ rev: count + 1 });
    raw.close();
  });
});
