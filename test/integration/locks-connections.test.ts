import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type BlackboardClient, type BoardEvent } from '../../client/sdk/index.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startServerAndFastBeat, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

let server: TestServer;
/** A node with a 200 ms heartbeat: silent peers go within about 400 ms. */
let fastBeat: TestServer;
beforeAll(async () => {
  [server, fastBeat] = await startServerAndFastBeat();
});
afterAll(async () => {
  await Promise.all([server?.stop(), fastBeat?.stop()]);
});

interface Seen extends BoardEvent {
  seenAt: number;
}

/** Records the board's `$locks` and `$presence` events as they arrive, through a node with the default heartbeat. */
async function recordServerKeys(board: string): Promise<{ events: Seen[]; observer: BlackboardClient }> {
  const observer = await server.client({ agent: 'observer' });
  const events: Seen[] = [];
  await observer.subscribe(
    { board, patterns: ['$locks/*', '$presence/*'] },
    { events: (batch) => events.push(...batch.map((e) => ({ ...e, seenAt: Date.now() }))) },
  );
  return { events, observer };
}

const deletion = (events: Seen[], key: string) => events.find((e) => e.key === key && e.type === 'delete');

async function call(raw: RawSocket, op: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const reply = await raw.call(op, args);
  if (reply.ok !== true) throw new Error(`${op} failed: ${JSON.stringify(reply.error)}`);
  return reply.result as Record<string, unknown>;
}

describe('locks and presence die with their connection', () => {
  it('closing a connection releases its locks and presence within a second', async () => {
    const board = randomBoard();
    const { events, observer } = await recordServerKeys(board);
    const holder = await server.client({ agent: 'closer' });
    await holder.acquireLock(board, 'a', { ttlMs: 60_000 });
    await holder.acquireLock(board, 'b', { ttlMs: 60_000 });
    await holder.presence(board, { task: 'x' });
    await waitFor(() => events.length === 3, 5_000, 'the three puts');

    const closedAt = Date.now();
    holder.close();
    await waitFor(() => ['$locks/a', '$locks/b', '$presence/closer'].every((k) => deletion(events, k)), 5_000, 'deletions');
    for (const key of ['$locks/a', '$locks/b', '$presence/closer']) {
      const event = deletion(events, key)!;
      expect(event.actor).toBe('closer');
      expect(event.seenAt - closedAt).toBeLessThan(1_000);
    }
    const next = await server.client({ agent: 'next' });
    await expect(next.acquireLock(board, 'a', { ttlMs: 1_000 })).resolves.toMatchObject({ token: expect.any(Number) });
    next.close();
    observer.close();
  });

  it('a connection cut without a close frame releases them too', async () => {
    const board = randomBoard();
    const { events, observer } = await recordServerKeys(board);
    const raw = await RawSocket.open(`${server.wsUrl}?agent=cut`);
    await call(raw, 'lock.acquire', { board, name: 'l', ttlMs: 60_000 });
    await call(raw, 'presence.set', { board, meta: null });
    await waitFor(() => events.length === 2, 5_000, 'the puts');
    const cutAt = Date.now();
    raw.ws.terminate(); // the TCP socket goes, no close frame
    await waitFor(() => Boolean(deletion(events, '$locks/l') && deletion(events, '$presence/cut')), 5_000, 'deletions');
    expect(deletion(events, '$locks/l')!.seenAt - cutAt).toBeLessThan(1_000);
    expect(deletion(events, '$presence/cut')!.actor).toBe('cut');
    observer.close();
  });

  it('a peer that stops answering pings is dropped by the heartbeat, and its locks and presence go with it', async () => {
    const board = randomBoard();
    const { events, observer } = await recordServerKeys(board);
    // A socket on the node with the 200 ms heartbeat that answers pings until told to stop.
    const raw = await RawSocket.open(`${fastBeat.wsUrl}?agent=silent`, { autoPong: false });
    let answering = true;
    raw.ws.on('ping', (data) => answering && raw.ws.pong(data));
    const grant = await call(raw, 'lock.acquire', { board, name: 'l', ttlMs: 60_000 });
    await call(raw, 'presence.set', { board, meta: { n: 1 } });
    answering = false;
    const since = Date.now();
    await waitFor(() => Boolean(deletion(events, '$locks/l') && deletion(events, '$presence/silent')), 5_000, 'deletions');
    // Gone long before the lock's 60 s TTL: one missed ping (2 × HEARTBEAT_MS) plus slack.
    expect(deletion(events, '$locks/l')!.seenAt - since).toBeLessThan(2_000);
    expect(deletion(events, '$locks/l')!.actor).toBe('silent');
    expect(deletion(events, '$locks/l')!.ts).toBeLessThan(Number(grant.expiresAt));
    await waitFor(() => raw.closeCode !== null, 5_000, 'the server to drop the socket');
    observer.close();
  });

  it('a lock and presence whose node died are deleted, with events, when their TTL lapses', async () => {
    const board = randomBoard();
    const { events, observer } = await recordServerKeys(board);
    const doomed = await startTestServer({ env: { HEARTBEAT_MS: '200' } });
    const client = await doomed.client({ agent: 'orphan' });
    const grant = await client.acquireLock(board, 'l', { ttlMs: 3_000 });
    const presence = await client.presence(board, { on: 'doomed node' });
    expect(presence.expiresAt - Date.now()).toBeLessThanOrEqual(600); // 3 × HEARTBEAT_MS
    await waitFor(() => events.length === 2, 5_000, 'the puts');

    // The node dies: no Redis any more, so nothing it held can be released by it.
    doomed.services.redis.disconnect();
    await doomed.stop();
    expect((await observer.get(board, '$locks/l')).value).toMatchObject({ holder: 'orphan', token: grant.token });

    await waitFor(() => Boolean(deletion(events, '$locks/l') && deletion(events, '$presence/orphan')), 10_000, 'expiry');
    const lockGone = deletion(events, '$locks/l')!;
    const presenceGone = deletion(events, '$presence/orphan')!;
    expect(lockGone.actor).toBe('$server');
    expect(presenceGone.actor).toBe('$server');
    // Not before the TTL, and soon after it (the sweep runs every 250 ms).
    expect(lockGone.ts).toBeGreaterThanOrEqual(grant.expiresAt);
    expect(lockGone.ts - grant.expiresAt).toBeLessThan(1_500);
    expect(presenceGone.ts).toBeGreaterThanOrEqual(presence.expiresAt);
    const err = await observer.get(board, '$locks/l').catch((e: { code: string }) => e.code);
    expect(err).toBe(ErrorCode.NOT_FOUND);
    const next = await server.client({ agent: 'heir' });
    const taken = await next.acquireLock(board, 'l', { ttlMs: 1_000 });
    expect(taken.token).toBeGreaterThan(grant.token);
    next.close();
    observer.close();
  });
});
