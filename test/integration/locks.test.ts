import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlackboardError, ErrorCode, type BlackboardClient } from '../../client/sdk/index.js';
import { codeOf, randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  // The clients share the server's event loop here, so its lag is theirs too: write
  // admission (tested on its own) would refuse writes that have nothing to do with locks.
  server = await startTestServer({ env: { ADMISSION_LAG_MS: '0' } });
});
afterAll(async () => {
  await server?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Entry {
  agent: number;
  i: number;
  token: number;
}

describe('locks with fencing tokens', () => {
  it('10 agents × 50 fenced critical sections under one lock: 500 entries, tokens strictly increasing', { timeout: 240_000 }, async () => {
    const board = randomBoard();
    const agents = await Promise.all(Array.from({ length: 10 }, (_, a) => server.client({ agent: `agent-${a}` })));
    await agents[0]!.put(board, 'list', []);
    const observed: number[][] = agents.map(() => []);
    await Promise.all(
      agents.map(async (client, a) => {
        for (let i = 0; i < 50; i++) {
          await client.withLock(
            board,
            'list-lock',
            async ({ fence, token, signal }) => {
              observed[a]!.push(token);
              const list = (await client.get<Entry[]>(board, 'list')).value;
              expect(signal.aborted).toBe(false);
              await client.put(board, 'list', [...list, { agent: a, i, token }], { fence });
            },
            { ttlMs: 5_000, waitMs: 60_000 },
          );
        }
      }),
    );
    const list = (await agents[0]!.get<Entry[]>(board, 'list')).value;
    expect(list).toHaveLength(500);
    // In the order the critical sections ran, every token is larger than the one before.
    for (let k = 1; k < list.length; k++) expect(list[k]!.token).toBeGreaterThan(list[k - 1]!.token);
    // Each agent saw its own tokens grow too, and every section left exactly one entry.
    for (const tokens of observed) for (let k = 1; k < tokens.length; k++) expect(tokens[k]!).toBeGreaterThan(tokens[k - 1]!);
    expect(new Set(list.map((e) => `${e.agent}/${e.i}`)).size).toBe(500);
    expect(await codeOf(agents[0]!.get(board, '$locks/list-lock'))).toBe(ErrorCode.NOT_FOUND);
    for (const c of agents) c.close();
  });

  it('a holder that stopped extending and slept past its TTL is FENCED; its successor’s writes stay', async () => {
    const board = randomBoard();
    const stale = await server.client({ agent: 'stale' });
    const next = await server.client({ agent: 'next' });
    await stale.put(board, 'doc', { by: 'nobody' });
    await stale.put(board, 'other', 1);
    const first = await stale.acquireLock(board, 'doc-lock', { ttlMs: 1_000 });
    const fence1 = { lock: 'doc-lock', token: first.token };
    await stale.put(board, 'doc', { by: 'stale', n: 1 }, { fence: fence1 });

    await sleep(1_500);
    const second = await next.acquireLock(board, 'doc-lock', { ttlMs: 10_000, waitMs: 2_000 });
    expect(second.token).toBeGreaterThan(first.token);
    const fence2 = { lock: 'doc-lock', token: second.token };
    await next.put(board, 'doc', { by: 'next' }, { fence: fence2 });
    await next.patch(board, 'other', [{ op: 'replace', path: '', value: 2 }], { fence: fence2 });
    const before = await next.list(board, '');

    // Every kind of write from the lapsed holder is refused, and changes nothing.
    expect(await codeOf(stale.put(board, 'doc', { by: 'stale', n: 2 }, { fence: fence1 }))).toBe(ErrorCode.FENCED);
    expect(await codeOf(stale.patch(board, 'doc', [{ op: 'add', path: '/x', value: 1 }], { fence: fence1 }))).toBe(ErrorCode.FENCED);
    expect(await codeOf(stale.delete(board, 'other', { fence: fence1 }))).toBe(ErrorCode.FENCED);
    expect(
      await codeOf(
        stale.txn(board, {
          compare: [],
          ops: [
            { op: 'put', key: 'doc', value: 'txn' },
            { op: 'delete', key: 'other' },
          ],
          fence: fence1,
        }),
      ),
    ).toBe(ErrorCode.FENCED);
    expect(await codeOf(stale.put(board, 'new-key', 1, { fence: fence1 }))).toBe(ErrorCode.FENCED);
    expect(await codeOf(stale.extendLock(board, 'doc-lock', first.token, 1_000))).toBe(ErrorCode.FENCED);
    expect(await codeOf(stale.releaseLock(board, 'doc-lock', first.token))).toBe(ErrorCode.FENCED);

    const after = await next.list(board, '');
    expect(after).toEqual(before);
    expect((await next.get(board, 'doc')).value).toEqual({ by: 'next' });
    const lockKey = await next.get<{ holder: string; token: number }>(board, '$locks/doc-lock');
    expect(lockKey.value.holder).toBe('next');
    expect(lockKey.createRev).toBe(second.token);
    expect(await next.releaseLock(board, 'doc-lock', second.token)).toEqual({ released: true });
    stale.close();
    next.close();
  });

  it('LOCKED names the holder; not re-entrant; waitMs waits for a release; tokens are the createRev of $locks/<name>', async () => {
    const board = randomBoard();
    const a = await server.client({ agent: 'alice' });
    const b = await server.client({ agent: 'bob' });
    const grant = await a.acquireLock(board, 'l', { ttlMs: 5_000 });
    const record = await a.get<{ holder: string; token: number; expiresAt: number }>(board, '$locks/l');
    expect(record.value).toEqual({ holder: 'alice', token: grant.token, expiresAt: grant.expiresAt });
    expect(record.createRev).toBe(grant.token);

    const locked = await b.acquireLock(board, 'l', { ttlMs: 1_000, waitMs: 100 }).catch((e: BlackboardError) => e);
    expect((locked as BlackboardError).code).toBe(ErrorCode.LOCKED);
    expect((locked as BlackboardError).details).toEqual({ holder: 'alice' });
    // Acquiring a lock one already holds is LOCKED too.
    const again = await a.acquireLock(board, 'l', { ttlMs: 1_000 }).catch((e: BlackboardError) => e);
    expect((again as BlackboardError).code).toBe(ErrorCode.LOCKED);
    expect((again as BlackboardError).details).toEqual({ holder: 'alice' });

    // Someone else's token, or a guess, is FENCED on extend and release.
    expect(await codeOf(b.extendLock(board, 'l', grant.token, 1_000))).toBe(ErrorCode.FENCED);
    expect(await codeOf(b.releaseLock(board, 'l', grant.token))).toBe(ErrorCode.FENCED);
    expect(await codeOf(a.extendLock(board, 'l', grant.token + 1, 1_000))).toBe(ErrorCode.FENCED);

    // extend rewrites $locks/<name>: same createRev (the token), later expiry.
    const extended = await a.extendLock(board, 'l', grant.token, 8_000);
    expect(extended.expiresAt).toBeGreaterThan(grant.expiresAt);
    const rewritten = await a.get<{ expiresAt: number }>(board, '$locks/l');
    expect(rewritten.value.expiresAt).toBe(extended.expiresAt);
    expect(rewritten.createRev).toBe(grant.token);
    expect(rewritten.version).toBe(2);

    const waiting = b.acquireLock(board, 'l', { ttlMs: 1_000, waitMs: 5_000 });
    await sleep(100);
    const released = await a.releaseLock(board, 'l', grant.token);
    expect(released).toEqual({ released: true });
    const next = await waiting;
    expect(next.token).toBeGreaterThan(grant.token);
    expect((await b.get(board, '$locks/l')).createRev).toBe(next.token);
    // Releasing twice: the token is no longer the holder's.
    expect(await codeOf(a.releaseLock(board, 'l', grant.token))).toBe(ErrorCode.FENCED);
    await b.releaseLock(board, 'l', next.token);
    expect(await codeOf(b.get(board, '$locks/l'))).toBe(ErrorCode.NOT_FOUND);
    a.close();
    b.close();
  });

  it('a fence naming another lock, a wrong token or a released lock is FENCED and writes nothing', async () => {
    const board = randomBoard();
    const c = await server.client({ agent: 'carol' });
    await c.put(board, 'k', 1);
    const grant = await c.acquireLock(board, 'm', { ttlMs: 5_000 });
    const rev = (await c.get(board, 'k')).rev;
    for (const fence of [
      { lock: 'other', token: grant.token },
      { lock: 'm', token: grant.token + 1 },
      { lock: 'm', token: grant.token - 1 },
    ]) {
      expect(await codeOf(c.put(board, 'k', 2, { fence }))).toBe(ErrorCode.FENCED);
      expect(await codeOf(c.patch(board, 'k', [{ op: 'replace', path: '', value: 3 }], { fence }))).toBe(ErrorCode.FENCED);
      expect(await codeOf(c.delete(board, 'k', { fence }))).toBe(ErrorCode.FENCED);
      expect(await codeOf(c.txn(board, { compare: [], ops: [{ op: 'put', key: 'j', value: 1 }], fence }))).toBe(ErrorCode.FENCED);
    }
    expect((await c.get(board, 'k')).rev).toBe(rev);
    const fence = { lock: 'm', token: grant.token };
    expect(await c.txn(board, { compare: [], ops: [{ op: 'put', key: 'j', value: 1 }], fence })).toMatchObject({ rev: rev + 1 });
    await c.releaseLock(board, 'm', grant.token);
    expect(await codeOf(c.put(board, 'k', 4, { fence }))).toBe(ErrorCode.FENCED);
    expect((await c.get(board, 'k')).value).toBe(1);
    c.close();
  });

  it('withLock extends while fn runs past the TTL, and its signal fires when the lock is lost', async () => {
    const board = randomBoard();
    const c = await server.client({ agent: 'dave' });
    const other = await server.client({ agent: 'erin' });
    // Longer than the TTL: only the extensions keep the lock.
    await c.withLock(
      board,
      'long',
      async ({ fence, signal }) => {
        await sleep(3_500);
        expect(signal.aborted).toBe(false);
        await c.put(board, 'k', 'done', { fence });
      },
      { ttlMs: 1_500 },
    );
    expect((await c.get(board, 'k')).value).toBe('done');
    expect(await codeOf(c.get(board, '$locks/long'))).toBe(ErrorCode.NOT_FOUND);

    // Waiting for the lock longer than its TTL does not count against the time it is held.
    const blocker = await other.acquireLock(board, 'contended', { ttlMs: 10_000 });
    setTimeout(() => void other.releaseLock(board, 'contended', blocker.token), 3_000);
    const waited = await c.withLock(
      board,
      'contended',
      async ({ fence, signal }) => {
        await sleep(2_500);
        expect(signal.aborted).toBe(false);
        return c.put(board, 'k', 'after waiting', { fence });
      },
      { ttlMs: 2_000, waitMs: 10_000 },
    );
    expect(waited.rev).toBeGreaterThan(blocker.token);

    // Lose the lock from under fn: release it by its token behind withLock's back.
    let aborted: unknown = null;
    await c.withLock(
      board,
      'lost',
      async ({ token, signal }) => {
        signal.addEventListener('abort', () => (aborted = signal.reason));
        await c.releaseLock(board, 'lost', token);
        await other.acquireLock(board, 'lost', { ttlMs: 5_000 });
        await waitUntil(() => aborted !== null);
      },
      { ttlMs: 600 },
    );
    expect(aborted).toBeInstanceOf(BlackboardError);
    expect((aborted as BlackboardError).code).toBe(ErrorCode.FENCED);
    c.close();
    other.close();
  });
});

describe('$locks and $presence on the board', () => {
  it('their events reach subscribers of $ patterns, not of **; clients cannot write $ keys', async () => {
    const board = randomBoard();
    const watcher = await server.client({ agent: 'watcher' });
    const actor = await server.client({ agent: 'frank' });
    const dollar: Array<{ key: string; type: string; actor: string; value?: unknown }> = [];
    const plain: string[] = [];
    await watcher.subscribe({ board, patterns: ['$locks/*', '$presence/*'] }, { events: (e) => dollar.push(...e) });
    await watcher.subscribe({ board, patterns: ['**'] }, { events: (e) => plain.push(...e.map((x) => x.key)) });

    const grant = await actor.acquireLock(board, 'x', { ttlMs: 5_000 });
    await actor.extendLock(board, 'x', grant.token, 5_000);
    await actor.releaseLock(board, 'x', grant.token);
    await actor.presence(board, { doing: 'tests' });
    await actor.clearPresence(board);
    await actor.put(board, 'plain', 1);
    await waitUntil(() => plain.includes('plain') && dollar.length >= 5);
    expect(dollar.map((e) => `${e.type} ${e.key} ${e.actor}`)).toEqual([
      'put $locks/x frank',
      'put $locks/x frank',
      'delete $locks/x frank',
      'put $presence/frank frank',
      'delete $presence/frank frank',
    ]);
    expect(dollar[0]!.value).toEqual({ holder: 'frank', token: grant.token, expiresAt: grant.expiresAt });
    expect(plain).toEqual(['plain']);

    await expectForbidden(actor, board, 'frank');
    watcher.close();
    actor.close();
  });
});

async function expectForbidden(client: BlackboardClient, board: string, holder: string): Promise<void> {
  const grant = await client.acquireLock(board, 'y', { ttlMs: 5_000 });
  const rev = (await client.get(board, '$locks/y')).rev;
  const fence = { lock: 'y', token: grant.token };
  expect(await codeOf(client.put(board, '$locks/y', { holder: 'me' }))).toBe(ErrorCode.FORBIDDEN);
  expect(await codeOf(client.put(board, '$locks/y', { holder: 'me' }, { fence }))).toBe(ErrorCode.FORBIDDEN);
  expect(await codeOf(client.put(board, '$presence/someone', {}))).toBe(ErrorCode.FORBIDDEN);
  expect(await codeOf(client.patch(board, '$locks/y', [{ op: 'replace', path: '/holder', value: 'me' }]))).toBe(ErrorCode.FORBIDDEN);
  expect(await codeOf(client.delete(board, '$locks/y'))).toBe(ErrorCode.FORBIDDEN);
  expect(
    await codeOf(
      client.txn(board, {
        compare: [],
        ops: [
          { op: 'put', key: 'ok', value: 1 },
          { op: 'delete', key: '$locks/y' },
        ],
      }),
    ),
  ).toBe(ErrorCode.FORBIDDEN);
  const after = await client.get(board, '$locks/y');
  expect(after.rev).toBe(rev);
  expect(after.value).toEqual({ holder, token: grant.token, expiresAt: grant.expiresAt });
  expect(await codeOf(client.get(board, 'ok'))).toBe(ErrorCode.NOT_FOUND);
  await client.releaseLock(board, 'y', grant.token);
}

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}
