import { MAX_PATTERN_STARS } from '../shared/protocol/globs.js';
import { rawHttpStatus, upgradeRequest } from '../test/helpers/raw-http.js';
import type { RawSocket } from '../test/helpers/raw-socket.js';
import { TcpFlooder } from '../test/helpers/tcp-flooder.js';

/**
 * The attacks of the hostile-neighbour section, each run by one connection (or one client
 * loop) as hard as the server's limits let it: a RATE_LIMITED refusal is waited out as a
 * well-behaved client would, everything else is sent again at once.
 */
export interface AttackTarget {
  port: number;
  /** Opens a connection for an agent with these scopes. */
  open(agent: string, scope: string): Promise<RawSocket>;
  /** The bearer token of an agent with these scopes. */
  token(agent: string, scope: string): Promise<string>;
  metricsToken: string;
  board(tag: string): string;
}

export interface Attack {
  name: string;
  /** Prepares, then runs until `stopped()` says so; resolves with a line describing what it did. */
  run(target: AttackTarget, stopped: () => boolean): Promise<string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * Sends `chunk` up to `times` times per connection as fast as the socket takes it, opening a
 * new connection each time the server closes one (4029), until `stopped()`.
 */
async function floodUntilStopped(
  port: number,
  token: string,
  chunk: Buffer,
  times: number,
  stopped: () => boolean,
): Promise<{ connections: number; frames: number }> {
  let connections = 0;
  let frames = 0;
  while (!stopped()) {
    const flooder = await TcpFlooder.open(port, { authorization: `Bearer ${token}` }).catch(() => null);
    if (!flooder) {
      await sleep(100);
      continue;
    }
    connections++;
    const flooding = flooder.flood(chunk, times, 60_000);
    while (!stopped() && flooder.closeCode === null) await sleep(50);
    flooder.close();
    await flooding;
    frames += flooder.sent;
  }
  return { connections, frames };
}

const codeOf = (reply: Record<string, unknown>) => (reply.error as { code?: string } | undefined)?.code;
const retryAfter = (reply: Record<string, unknown>) =>
  Number((reply.error as { details?: { retryAfterMs?: number } } | undefined)?.details?.retryAfterMs ?? 10);

/** Sends one request again and again from `inFlight` loops; counts the outcomes. */
async function hammer(socket: RawSocket, inFlight: number, stopped: () => boolean, request: () => [string, Record<string, unknown>]): Promise<string> {
  const outcomes = new Map<string, number>();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (!stopped() && socket.closeCode === null) {
        const reply = await socket.call(...request()).catch(() => ({ ok: false, error: { code: 'CLOSED' } }) as Record<string, unknown>);
        // The test client keeps every frame it got: drop each reply once read, so its log stays short.
        const at = socket.messages.indexOf(reply);
        if (at !== -1) socket.messages.splice(at, 1);
        const outcome = reply.ok === true ? 'ok' : (codeOf(reply) ?? '?');
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if (outcome === 'RATE_LIMITED') await sleep(Math.min(1_000, retryAfter(reply)));
      }
    }),
  );
  return [...outcomes].map(([k, v]) => `${v} ${k}`).join(', ');
}

export const ATTACKS: Attack[] = [
  {
    name: 'malformed upgrades (`//`, `/%zz`, 10 KB path), 4 at a time',
    async run(t, stopped) {
      const targets = ['//', '/%zz', `/${'a'.repeat(10 * 1024)}`];
      const statuses = new Map<number, number>();
      await Promise.all(
        Array.from({ length: 4 }, async (_, lane) => {
          for (let i = lane; !stopped(); i++) {
            const status = await rawHttpStatus(t.port, upgradeRequest(targets[i % targets.length]!), 5_000);
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          }
        }),
      );
      return [...statuses].map(([s, n]) => `${n} × ${s}`).join(', ');
    },
  },
  {
    name: 'copy-bomb patch (17 copies of a 100 KB value into itself), 16 in flight',
    async run(t, stopped) {
      const board = t.board('bomb');
      const socket = await t.open('bomber', `write:${board} read:${board}`);
      await socket.call('put', { board, key: 'doc', value: { pad: 'x'.repeat(100_000) } });
      const patch = Array.from({ length: 17 }, (_, i) => ({ op: 'copy', from: '', path: `/k${i}` }));
      const line = await hammer(socket, 16, stopped, () => ['patch', { board, key: 'doc', patch }]);
      socket.close();
      return line;
    },
  },
  {
    name: `worst globs (512 distinct ${MAX_PATTERN_STARS}-star and deep patterns) while the same connection writes 512-character keys, 16 in flight`,
    async run(t, stopped) {
      const board = t.board('globs');
      const socket = await t.open('globber', `read:${board} write:${board}`);
      const chain = (i: number) => `x/${'*a'.repeat(MAX_PATTERN_STARS - 1)}*b${i}`;
      const deep = (i: number) => `x/**/${'a/'.repeat(20 + (i % 10))}b${i}`;
      let subscribed = 0;
      for (let s = 0; s < 8; s++) {
        const patterns = Array.from({ length: 64 }, (_, i) => (i % 2 === 0 ? chain(s * 64 + i) : deep(s * 64 + i)));
        if ((await socket.call('subscribe', { board, patterns })).ok === true) subscribed++;
      }
      const keys = [`x/${'a'.repeat(510)}`, `x/${'a/'.repeat(254)}aa`];
      let n = 0;
      const line = await hammer(socket, 16, stopped, () => ['put', { board, key: keys[n++ % 2]!, value: n }]);
      socket.close();
      return `${subscribed} subscriptions; writes: ${line}`;
    },
  },
  {
    name: '1 MB frames of big numbers from a token with no scope, as fast as the socket takes them (reconnecting after each 4029)',
    async run(t, stopped) {
      const token = await t.token('flooder', '');
      const numbers = Array.from({ length: 47_000 }, () => '12345678901234567890').join(',');
      const frame = TcpFlooder.frame(`{"id":1,"op":"put","board":"${t.board('flood')}","key":"x","value":[${numbers}]}`);
      const { connections, frames } = await floodUntilStopped(t.port, token, frame, 100_000, stopped);
      return `${frames} frames over ${connections} connections`;
    },
  },
  {
    name: 'task workers: as many as one agent may hold, then task.work again and again, 16 in flight',
    async run(t, stopped) {
      const board = t.board('workers');
      const socket = await t.open('hog', `task:${board}`);
      let held = 0;
      for (let i = 0; i < 300; i++) {
        if ((await socket.call('task.work', { board, queue: `q${i}` })).ok !== true) break;
        held++;
      }
      let i = 0;
      const line = await hammer(socket, 16, stopped, () => ['task.work', { board, queue: `more${i++}` }]);
      socket.close();
      return `${held} workers held; then: ${line}`;
    },
  },
  {
    name: '`/metrics` scraped by 8 clients in a loop',
    async run(t, stopped) {
      let scrapes = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (!stopped()) {
            const res = await fetch(`http://127.0.0.1:${t.port}/metrics`, { headers: { authorization: `Bearer ${t.metricsToken}` } });
            await res.text();
            scrapes++;
          }
        }),
      );
      return `${scrapes} scrapes`;
    },
  },
  {
    name: 'small requests as fast as one connection can send them (reconnecting after each 4029)',
    async run(t, stopped) {
      const board = t.board('rate');
      const token = await t.token('spammer', `read:${board}`);
      const one = TcpFlooder.frame(`{"id":1,"op":"get","board":"${board}","key":"k"}`);
      const batch = Buffer.concat(Array.from({ length: 500 }, () => one));
      const { connections } = await floodUntilStopped(t.port, token, batch, 1_000_000, stopped);
      return `${connections} connections`;
    },
  },
];
