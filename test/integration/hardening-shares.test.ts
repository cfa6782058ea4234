import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../server/security/mint.js';
import { errorCode, median, timed } from '../helpers/bystander.js';
import { freePort, spawnServer, stopServer, type ServerProcess } from '../helpers/process-server.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, waitFor } from '../helpers/server.js';
import { TcpFlooder } from '../helpers/tcp-flooder.js';
import { rawHttpStatus, upgradeRequest } from '../helpers/raw-http.js';

/** Fair shares per agent: one agent's requests, bytes and held resources cannot crowd out another's. */

const SECRET = randomBytes(32).toString('hex');
type Reply = Record<string, unknown>;
const details = (r: Reply) => (r.error as { details?: Record<string, unknown> } | undefined)?.details ?? {};

function opener(proc: () => ServerProcess) {
  return async (sub: string, scope: string): Promise<RawSocket> => {
    const token = await mintToken({ sub, scope, ttlSeconds: 600, secret: SECRET });
    return RawSocket.open(`ws://127.0.0.1:${proc().port}/v1/ws`, { headers: { authorization: `Bearer ${token}` } });
  };
}

function expectShareRefusal(reply: Reply, reason: string): void {
  expect(errorCode(reply)).toBe('RATE_LIMITED');
  expect(details(reply).reason).toBe(reason);
  expect(details(reply).retryAfterMs).toBeGreaterThan(0);
}

describe('with the default limits', () => {
  let proc: ServerProcess;
  beforeAll(async () => {
    proc = await spawnServer(await freePort(), { HISTORY_ENABLED: 'false', AUTH_MODE: 'jwt', JWT_SECRET: SECRET });
  });
  afterAll(() => stopServer(proc));
  const as = opener(() => proc);

  it('a no-scope token sending 1 MB frames as fast as it can is closed with 4029 within seconds, while a bystander’s paced writes are never refused', async () => {
    const board = randomBoard('sh');
    const bystander = await as('bystander', `write:${board} read:${board}`);
    expect((await bystander.call('put', { board, key: 'k', value: 0 })).ok).toBe(true);

    const token = await mintToken({ sub: 'nobody', scope: '', ttlSeconds: 600, secret: SECRET });
    const flooder = await TcpFlooder.open(proc.port, { authorization: `Bearer ${token}` });
    // The attack: a megabyte of numbers past double precision, the costliest JSON to parse exactly.
    const numbers = Array.from({ length: 47_000 }, () => '12345678901234567890').join(',');
    const frame = TcpFlooder.frame(`{"id":1,"op":"put","board":"${board}","key":"x","value":[${numbers}]}`);
    expect(frame.length).toBeGreaterThan(900_000);

    let flooding = true;
    const writes: Array<{ ms: number; reply: Reply }> = [];
    const paced = (async () => {
      for (let i = 1; flooding || i < 10; i++) {
        writes.push(await timed(bystander, 'put', { board, key: 'k', value: i }));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const started = Date.now();
    await flooder.flood(frame, 2_000, 60_000);
    flooding = false;
    await paced;

    const closedAfterMs = (flooder.closedAt ?? Date.now()) - started;
    console.info(
      `1 MB flood: ${flooder.sent} frames written, ${flooder.refused('FORBIDDEN').length} FORBIDDEN, ${flooder.refused('RATE_LIMITED').length} RATE_LIMITED, ` +
        `closed ${flooder.closeCode} after ${closedAfterMs} ms; bystander: ${writes.length} puts, median ${median(writes.map((w) => w.ms)).toFixed(1)} ms`,
    );
    expect(flooder.closeCode).toBe(4029);
    expect(closedAfterMs).toBeLessThan(30_000);
    // Reconnecting at once is refused at the upgrade: it would only be closed again after its frames were read.
    const again = upgradeRequest('/v1/ws').replace('\r\n\r\n', `\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    expect(await rawHttpStatus(proc.port, again)).toBe(429);
    const limited = flooder.refused('RATE_LIMITED');
    expect(limited.length).toBeGreaterThan(0);
    expect(details(limited[0]!).reason).toBe('agentBytes');
    // Nothing the flooder sent was written, and every one of the bystander's writes was.
    expect(writes.filter((w) => w.reply.ok !== true)).toEqual([]);
    const x = await bystander.call('get', { board, key: 'x' });
    expect(errorCode(x)).toBe('NOT_FOUND');
    expect(bystander.closeCode).toBeNull();
  });

  it('one agent cannot hold more than its share of queue workers; another agent’s task.work still succeeds', async () => {
    const board = randomBoard('sw');
    const hog = [await as('hog', `task:${board}`), await as('hog', `task:${board}`)];
    // Workers on distinct queues, across two connections of one agent, until refused.
    let refusal: Reply | null = null;
    let opened = 0;
    for (let i = 0; i < 200 && !refusal; i++) {
      const reply = await hog[i % 2]!.call('task.work', { board, queue: `q${i}` });
      if (reply.ok === true) opened++;
      else refusal = reply;
    }
    expect(refusal).not.toBeNull();
    expectShareRefusal(refusal!, 'workers');
    expect(opened).toBe(details(refusal!).limit);

    const other = await as('other', `task:${board}`);
    const work = await other.call('task.work', { board, queue: 'mine' });
    expect(work.ok).toBe(true);
    const enqueued = await other.call('task.enqueue', { board, queue: 'mine', data: { n: 1 } });
    const { taskId } = enqueued.result as { taskId: string };
    const push = await other.until(() => other.pushes().find((p) => p.push === 'task'));
    expect((push.task as { taskId: string }).taskId).toBe(taskId);

    // The share comes back with the connection that held it.
    hog[0]!.close();
    await waitFor(async () => (await hog[1]!.call('task.work', { board, queue: 'again' })).ok === true, 10_000, 'a freed share');
  });
});

describe('with small per-agent limits', () => {
  let proc: ServerProcess;
  beforeAll(async () => {
    proc = await spawnServer(await freePort(), {
      HISTORY_ENABLED: 'false',
      AUTH_MODE: 'jwt',
      JWT_SECRET: SECRET,
      MAX_LOCKS_PER_AGENT: '3',
      MAX_PRESENCE_PER_AGENT: '2',
      MAX_SUBSCRIPTIONS_PER_AGENT: '4',
      MAX_GLOBS_PER_AGENT: '70',
      RATE_LIMIT_AGENT_RPS: '20',
      RATE_LIMIT_AGENT_BURST: '60',
    });
  });
  afterAll(() => stopServer(proc));
  const as = opener(() => proc);

  it('locks, presence and subscriptions past an agent’s share on the node are RATE_LIMITED with a reason, across its connections; other agents are unaffected', async () => {
    const board = randomBoard('sc');
    const scope = `lock:${board} write:${board} read:${board}`;
    const [one, two] = [await as('holder', scope), await as('holder', scope)];
    const other = await as('someone-else', scope);

    const lock = (s: RawSocket, name: string) => s.call('lock.acquire', { board, name, ttlMs: 30_000 });
    const locks = [await lock(one, 'a'), await lock(two, 'b'), await lock(one, 'c')];
    for (const l of locks) expect(l.ok).toBe(true);
    expectShareRefusal(await lock(two, 'd'), 'locks');
    expect((await lock(other, 'd')).ok).toBe(true);
    // Released: the share is free again.
    const { token } = locks[0]!.result as { token: number };
    expect((await one.call('lock.release', { board, name: 'a', token })).ok).toBe(true);
    expect((await lock(two, 'e')).ok).toBe(true);

    const presence = (s: RawSocket, b: string) => s.call('presence.set', { board: b, meta: {} });
    const boards = [randomBoard('p1'), randomBoard('p2'), randomBoard('p3')];
    const presenceScope = boards.map((b) => `write:${b}`).join(' ');
    const [p1, p2] = [await as('present', presenceScope), await as('present', presenceScope)];
    expect((await presence(p1, boards[0]!)).ok).toBe(true);
    expect((await presence(p2, boards[1]!)).ok).toBe(true);
    // Setting again where it already shows presence is not another entry.
    expect((await presence(p1, boards[0]!)).ok).toBe(true);
    expectShareRefusal(await presence(p2, boards[2]!), 'presence');
    expect((await presence(await as('present-2', presenceScope), boards[2]!)).ok).toBe(true);

    const subscribe = (s: RawSocket) => s.call('subscribe', { board, patterns: ['**'] });
    for (const s of [one, two, one, two]) expect((await subscribe(s)).ok).toBe(true);
    expectShareRefusal(await subscribe(one), 'subscriptions');
    expect((await subscribe(other)).ok).toBe(true);
    two.close();
    await waitFor(async () => (await subscribe(one)).ok === true, 10_000, 'subscriptions freed by the closed connection');

    // Globs are matched against every readable key written: their number per agent is bounded too.
    const globber = await as('globber', scope);
    const globs = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}/*`);
    expect((await globber.call('subscribe', { board, patterns: globs(64, 'a') })).ok).toBe(true);
    expectShareRefusal(await globber.call('subscribe', { board, patterns: globs(7, 'b') }), 'patterns');
    // Exact keys cost a set lookup, not a match: they do not count.
    expect((await globber.call('subscribe', { board, patterns: ['k1', 'k2', 'k3'] })).ok).toBe(true);
    expect((await globber.call('subscribe', { board, patterns: globs(6, 'c') })).ok).toBe(true);
  });

  it('an agent’s request rate counts across its connections; another agent is not refused', async () => {
    const board = randomBoard('sr');
    const scope = `read:${board}`;
    const sockets = [await as('busy', scope), await as('busy', scope), await as('busy', scope)];
    const quiet = await as('quiet', scope);
    // 3 × 40 requests at once: more than the agent's burst of 60, well within each connection's.
    const replies = await Promise.all(sockets.flatMap((s) => Array.from({ length: 40 }, (_, i) => s.call('get', { board, key: `k${i}` }))));
    const limited = replies.filter((r) => errorCode(r) === 'RATE_LIMITED');
    expect(limited.length).toBeGreaterThanOrEqual(40);
    expect(details(limited[0]!).reason).toBe('agentRate');
    expect(replies.length - limited.length).toBeLessThanOrEqual(60 + 20);
    expect(errorCode(await quiet.call('get', { board, key: 'k' }))).toBe('NOT_FOUND');
  });
});
