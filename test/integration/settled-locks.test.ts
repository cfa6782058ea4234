import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '../helpers/bystander.js';
import { freePort, spawnServer, stopServer, type ServerProcess } from '../helpers/process-server.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard } from '../helpers/server.js';

/** The lock rules of PROTOCOL.md's "Settled after v1 shipped", one test each, against a server process. */

type Reply = Record<string, unknown>;
interface Event {
  rev: number;
  key: string;
  type: 'put' | 'delete';
  value?: unknown;
  actor: string;
  ts: number;
}

let proc: ServerProcess;
beforeAll(async () => {
  proc = await spawnServer(await freePort(), { HISTORY_ENABLED: 'false' });
});
afterAll(() => stopServer(proc));

const open = (agent: string) => RawSocket.open(`ws://127.0.0.1:${proc.port}/v1/ws?agent=${agent}`);
const result = <T>(reply: Reply): T => {
  expect(reply.ok, JSON.stringify(reply.error)).toBe(true);
  return reply.result as T;
};

/** Every event a socket's subscriptions delivered so far. */
function events(socket: RawSocket): Event[] {
  return socket.pushes().flatMap((p) => (p.push === 'events' ? (p.events as Event[]) : []));
}

describe('settled lock rules', () => {
  it('$locks/<name>.expiresAt equals the latest acquire or extend result', async () => {
    const board = randomBoard('ls');
    const a = await open('holder');
    const acquired = result<{ token: number; expiresAt: number }>(await a.call('lock.acquire', { board, name: 'x', ttlMs: 5_000 }));
    const shown = async () => result<{ value: { expiresAt: number; token: number; holder: string } }>(await a.call('get', { board, key: '$locks/x' })).value;
    expect(await shown()).toEqual({ holder: 'holder', token: acquired.token, expiresAt: acquired.expiresAt });
    for (const ttlMs of [20_000, 3_000, 60_000]) {
      const extended = result<{ expiresAt: number }>(await a.call('lock.extend', { board, name: 'x', token: acquired.token, ttlMs }));
      expect((await shown()).expiresAt).toBe(extended.expiresAt);
    }
    a.close();
  });

  it('an expired lock’s key is deleted, with actor $server, within 1 s of its expiry', async () => {
    const board = randomBoard('ls');
    const watcher = await open('watcher');
    result(await watcher.call('subscribe', { board, patterns: ['$locks/**'] }));
    const holder = await open('sleepy');
    const { expiresAt } = result<{ expiresAt: number }>(await holder.call('lock.acquire', { board, name: 'nap', ttlMs: 300 }));
    const deleted = await watcher.until(() => events(watcher).find((e) => e.key === '$locks/nap' && e.type === 'delete'), 10_000);
    expect(deleted.actor).toBe('$server');
    // Both times come from the same clock (Redis's): the deletion is the expiry plus at most a second.
    expect(deleted.ts).toBeGreaterThanOrEqual(expiresAt);
    expect(deleted.ts - expiresAt).toBeLessThanOrEqual(1_000);
    expect(errorCode(await watcher.call('get', { board, key: '$locks/nap' }))).toBe('NOT_FOUND');
    // Its holder's token no longer fences anything.
    expect(errorCode(await holder.call('lock.extend', { board, name: 'nap', token: deleted.rev, ttlMs: 1_000 }))).toBe('FENCED');
    holder.close();
    watcher.close();
  });

  it('fence.lock names a lock on the written board', async () => {
    const [a, b] = [randomBoard('la'), randomBoard('lb')];
    const agent = await open('fencer');
    const { token } = result<{ token: number }>(await agent.call('lock.acquire', { board: a, name: 'shared', ttlMs: 30_000 }));
    // The same lock name and token are no fence on another board, which has no such lock.
    expect(errorCode(await agent.call('put', { board: b, key: 'k', value: 1, fence: { lock: 'shared', token } }))).toBe('FENCED');
    // Nor when that board has its own lock of that name, held by someone else.
    const other = await open('other');
    // A write first, so that board's lock gets a different token (tokens are board revisions).
    result(await other.call('put', { board: b, key: 'pad', value: 0 }));
    const held = result<{ token: number }>(await other.call('lock.acquire', { board: b, name: 'shared', ttlMs: 30_000 }));
    expect(held.token).not.toBe(token);
    expect(errorCode(await agent.call('put', { board: b, key: 'k', value: 1, fence: { lock: 'shared', token } }))).toBe('FENCED');
    expect(errorCode(await agent.call('get', { board: b, key: 'k' }))).toBe('NOT_FOUND');
    // On its own board the fence holds.
    expect((await agent.call('put', { board: a, key: 'k', value: 1, fence: { lock: 'shared', token } })).ok).toBe(true);
    agent.close();
    other.close();
  });

  it('extend or release from another connection, even of the same agent and with the right token, is FENCED', async () => {
    const board = randomBoard('lc');
    const first = await open('twin');
    const second = await open('twin');
    const { token } = result<{ token: number }>(await first.call('lock.acquire', { board, name: 'mine', ttlMs: 30_000 }));
    expect(errorCode(await second.call('lock.extend', { board, name: 'mine', token, ttlMs: 30_000 }))).toBe('FENCED');
    expect(errorCode(await second.call('lock.release', { board, name: 'mine', token }))).toBe('FENCED');
    // The lock is untouched: still shown, still its connection's to extend and release.
    expect(result<{ value: { token: number } }>(await second.call('get', { board, key: '$locks/mine' })).value.token).toBe(token);
    expect((await first.call('lock.extend', { board, name: 'mine', token, ttlMs: 30_000 })).ok).toBe(true);
    expect((await first.call('lock.release', { board, name: 'mine', token })).ok).toBe(true);
    first.close();
    second.close();
  });

  it('a closed connection’s locks and presence are gone within 1 s', async () => {
    const board = randomBoard('lx');
    const watcher = await open('watcher');
    result(await watcher.call('subscribe', { board, patterns: ['$locks/**', '$presence/*'] }));
    const leaving = await open('leaver');
    result(await leaving.call('lock.acquire', { board, name: 'l1', ttlMs: 60_000 }));
    result(await leaving.call('lock.acquire', { board, name: 'l2', ttlMs: 60_000 }));
    result(await leaving.call('presence.set', { board, meta: { here: true } }));
    await watcher.until(() => events(watcher).find((e) => e.key === '$presence/leaver' && e.type === 'put'));
    const closedAt = Date.now();
    leaving.close();
    const gone = ['$locks/l1', '$locks/l2', '$presence/leaver'];
    const deletions = await watcher.until(() => {
      const found = gone.map((key) => events(watcher).find((e) => e.key === key && e.type === 'delete'));
      return found.every((e) => e !== undefined) ? (found as Event[]) : undefined;
    }, 10_000);
    // Server and test share this machine's clock.
    for (const e of deletions) expect(e.ts - closedAt).toBeLessThanOrEqual(1_000);
    for (const key of gone) expect(errorCode(await watcher.call('get', { board, key }))).toBe('NOT_FOUND');
    watcher.close();
  });
});
