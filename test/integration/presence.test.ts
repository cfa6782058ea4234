import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BlackboardError, ErrorCode } from '../../client/sdk/index.js';
import type { OpArgs } from '../../shared/protocol/messages/index.js';
import { randomBoard, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  // HEARTBEAT_MS 200 makes the presence TTL 600 ms, so the refresh is exercised quickly.
  server = await startTestServer({ env: { ADMISSION_LAG_MS: '0', HEARTBEAT_MS: '200', MAX_VALUE_BYTES: '1024' } });
});
afterAll(async () => {
  await server?.stop();
});

interface Presence {
  agent: string;
  meta: unknown;
  since: number;
  node: string;
}

async function presenceOf(board: string, agent: string): Promise<Presence | undefined> {
  const reader = await server.client({ agent: 'reader' });
  try {
    return await reader.value<Presence>(board, `$presence/${agent}`);
  } finally {
    reader.close();
  }
}

describe('presence', () => {
  it('set writes {agent, meta, since, node}; set again keeps since; clear deletes it', async () => {
    const board = randomBoard();
    const c = await server.client({ agent: 'pia' });
    const first = await c.presence(board, { status: 'reading', big: [1, 2, 3] });
    const value = await presenceOf(board, 'pia');
    expect(value).toEqual({ agent: 'pia', meta: { status: 'reading', big: [1, 2, 3] }, since: first.since, node: server.services.nodeId });
    const second = await c.presence(board, { status: 'writing' });
    expect(second.since).toBe(first.since);
    expect(second.rev).toBeGreaterThan(first.rev);
    const record = await c.get<Presence>(board, '$presence/pia');
    expect(record.version).toBe(2);
    expect(record.value.meta).toEqual({ status: 'writing' });
    expect(await c.clearPresence(board)).toMatchObject({ cleared: true });
    expect(await presenceOf(board, 'pia')).toBeUndefined();
    expect(await c.clearPresence(board)).toEqual({ cleared: false });
    c.close();
  });

  it('outlives its TTL while the connection lives (its node pushes the deadline back)', async () => {
    const board = randomBoard();
    const c = await server.client({ agent: 'steady' });
    const set = await c.presence(board, 'here');
    expect(set.expiresAt - Date.now()).toBeLessThanOrEqual(600);
    await new Promise((r) => setTimeout(r, 1_800)); // three TTLs
    expect(await presenceOf(board, 'steady')).toMatchObject({ agent: 'steady', meta: 'here' });
    c.close();
    await waitFor(async () => (await presenceOf(board, 'steady')) === undefined, 5_000, 'removal on close');
  });

  it('belongs to the connection that set it last; closing another of the agent’s connections leaves it', async () => {
    const board = randomBoard();
    const a = await server.client({ agent: 'twin' });
    const b = await server.client({ agent: 'twin' });
    await a.presence(board, { from: 'a' });
    await b.presence(board, { from: 'b' });
    a.close();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await presenceOf(board, 'twin')).toMatchObject({ meta: { from: 'b' } });
    b.close();
    await waitFor(async () => (await presenceOf(board, 'twin')) === undefined, 5_000, 'removal with its owner');
  });

  it('goes from every board when its connection closes', async () => {
    const boards = [randomBoard(), randomBoard(), randomBoard()];
    const c = await server.client({ agent: 'roamer' });
    for (const board of boards) await c.presence(board, { board });
    c.close();
    for (const board of boards) {
      await waitFor(async () => (await presenceOf(board, 'roamer')) === undefined, 5_000, `removal from ${board}`);
    }
  });

  it('refuses meta over MAX_VALUE_BYTES and bad frames, writing nothing', async () => {
    const board = randomBoard();
    const c = await server.client({ agent: 'big' });
    const tooLarge = await c.presence(board, { blob: 'x'.repeat(2_000) }).catch((e: BlackboardError) => e);
    expect((tooLarge as BlackboardError).code).toBe(ErrorCode.TOO_LARGE);
    const bad = await c.request('presence.set', { board, meta: 1, extra: true } as OpArgs<'presence.set'>).catch((e: BlackboardError) => e);
    expect((bad as BlackboardError).code).toBe(ErrorCode.BAD_REQUEST);
    expect(await presenceOf(board, 'big')).toBeUndefined();
    c.close();
  });
});
