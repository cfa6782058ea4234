import { afterEach, describe, expect, it } from 'vitest';
import { BlackboardClient, BlackboardError, ErrorCode } from '../../client/sdk/index.js';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { CheckedWebSocket, randomBoard, waitFor } from '../helpers/server.js';

let node: ServerProcess | null = null;
const sockets: CheckedWebSocket[] = [];
let stopping = false;
afterEach(() => {
  stopping = true;
  for (const ws of sockets.splice(0)) ws.terminate();
  node?.child.kill('SIGKILL');
  node = null;
});

/**
 * Raw subscribers that record the revisions they receive, in order. A subscriber the
 * server drops as a slow consumer (4008) does what the protocol asks: it reconnects and
 * resumes with fromRev = last seen + 1, so "misses nothing" holds across drops too.
 */
async function subscribers(url: string, board: string, count: number): Promise<{ seen: number[][]; drops: () => number }> {
  stopping = false;
  const seen: number[][] = [];
  let drops = 0;
  const open = (revs: number[], fromRev?: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const ws = new CheckedWebSocket(`${url}/v1/ws`);
      sockets.push(ws);
      ws.once('error', reject);
      ws.once('open', () => {
        ws.on('message', (data) => {
          const msg = JSON.parse(data.toString()) as { id?: number; push?: string; events?: Array<{ rev: number }> };
          if (msg.id === 1) resolve();
          if (msg.push === 'events') for (const e of msg.events ?? []) revs.push(e.rev);
        });
        ws.send(JSON.stringify({ id: 1, op: 'subscribe', board, patterns: ['**'], ...(fromRev ? { fromRev } : {}) }));
      });
      ws.once('close', (code) => {
        if (stopping || code !== 4008) return;
        drops++;
        const last = revs[revs.length - 1];
        void open(revs, last === undefined ? 1 : last + 1).catch(() => undefined);
      });
    });
  await Promise.all(
    Array.from({ length: count }, async () => {
      const revs: number[] = [];
      seen.push(revs);
      await open(revs);
    }),
  );
  return { seen, drops: () => drops };
}

function client(url: string): BlackboardClient {
  return new BlackboardClient({ url, WebSocket: CheckedWebSocket, requestTimeoutMs: 60_000, retryRateLimited: false });
}

describe('write admission', () => {
  it('a flood past the budget is refused with RATE_LIMITED, light load never is, and subscribers miss nothing', async () => {
    const port = await freePort();
    // All three checks on, with looser budgets than the defaults: light load must pass even on a busy CI machine.
    node = await spawnServer(port, { ADMISSION_LAG_MS: '150', ADMISSION_MAX_COMMITS: '128', ADMISSION_BACKLOG_MS: '250' });
    const url = `http://127.0.0.1:${port}`;
    const board = randomBoard();
    const { seen, drops } = await subscribers(url, board, 100);

    // Light load: one write at a time, paced.
    const light = client(url);
    await light.connect();
    const accepted: number[] = [];
    for (let i = 0; i < 40; i++) {
      accepted.push((await light.put(board, `light/${i % 5}`, { i })).rev);
      await new Promise((r) => setTimeout(r, 25));
    }

    // A flood: many writers, many writes in flight, large values.
    const writers = Array.from({ length: 4 }, () => client(url));
    await Promise.all(writers.map((w) => w.connect()));
    // Past ADMISSION_MAX_COMMITS in flight at once: a flood whatever the machine's speed.
    const payload = 'x'.repeat(500);
    let limited = 0;
    let retryAfter = 0;
    const signals = new Set<string>();
    await Promise.all(
      writers.flatMap((w) =>
        Array.from({ length: 128 }, async (_, lane) => {
          for (let i = 0; i < 20; i++) {
            try {
              accepted.push((await w.put(board, `flood/${lane}`, { i, payload })).rev);
            } catch (err) {
              if (!(err instanceof BlackboardError) || err.code !== ErrorCode.RATE_LIMITED) throw err;
              limited++;
              retryAfter = Number(err.details?.retryAfterMs ?? 0);
              signals.add(String(err.details?.signal));
            }
          }
        }),
      ),
    );
    expect(limited).toBeGreaterThan(0);
    expect(retryAfter).toBeGreaterThan(0);
    for (const signal of signals) expect(['lag', 'commits', 'fanout']).toContain(signal);

    // Every accepted write reaches every subscriber, once and in order.
    accepted.sort((a, b) => a - b);
    const last = accepted[accepted.length - 1]!;
    try {
      await waitFor(() => seen.every((revs) => revs[revs.length - 1] === last), 60_000, 'subscribers to catch up');
    } catch (err) {
      const behind = seen.filter((revs) => revs[revs.length - 1] !== last).map((revs) => `${revs.length}/${accepted.length}`);
      throw new Error(`${(err as Error).message}: ${behind.length} behind (${behind.slice(0, 5).join(', ')}), ${drops()} drops`);
    }
    for (const revs of seen) expect(revs).toEqual(accepted);
    console.log(`admission: ${accepted.length} accepted, ${limited} refused, ${drops()} slow-consumer drops resumed; refused for ${[...signals].join(', ')}`);
    for (const c of [light, ...writers]) c.close();
  }, 180_000);
});
