import { spawn } from 'node:child_process';
import { WebSocket } from 'ws';
import { BlackboardClient, type SocketFactory } from '../client/sdk/index.js';
import { randomBoard } from '../test/helpers/server.js';
import { round, type Figure } from './stats.js';

/** Counts events in frames without parsing them: every event carries one `"rev":`. */
function countEvents(text: string): number {
  let n = 0;
  let i = text.indexOf('"rev":');
  while (i !== -1) {
    n++;
    i = text.indexOf('"rev":', i + 6);
  }
  return n;
}

async function openAll(urls: string[]): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < urls.length; i += 100) {
    sockets.push(
      ...(await Promise.all(
        urls.slice(i, i + 100).map(
          (url) =>
            new Promise<WebSocket>((resolve, reject) => {
              const ws = new WebSocket(url, { perMessageDeflate: false });
              ws.once('open', () => resolve(ws));
              ws.once('error', reject);
            }),
        ),
      )),
    );
  }
  return sockets;
}

/** Resolves when every socket has counted `expected` events; returns the seconds from `start`. */
function awaitDelivery(sockets: WebSocket[], expected: number, start: () => number, timeoutMs = 120_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const timer = setTimeout(() => reject(new Error(`fan-out timed out (${done}/${sockets.length} complete)`)), timeoutMs);
    for (const ws of sockets) {
      let got = 0;
      ws.on('message', (data) => {
        got += countEvents(data.toString());
        if (got === expected && ++done === sockets.length) {
          clearTimeout(timer);
          resolve((performance.now() - start()) / 1000);
        }
      });
    }
  });
}

async function bareBroadcast(subscribers: number, writes: number, frame: string): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bare-broadcast.ts', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    const sockets = await openAll(Array.from({ length: subscribers }, () => `ws://127.0.0.1:${port}/`));
    const control = (await openAll([`ws://127.0.0.1:${port}/control`]))[0]!;
    await new Promise((r) => setTimeout(r, 200));
    let t0 = 0;
    const delivered = awaitDelivery(sockets, writes, () => t0);
    t0 = performance.now();
    control.send(JSON.stringify({ go: writes, frame }));
    const seconds = await delivered;
    for (const ws of [...sockets, control]) ws.terminate();
    return (subscribers * writes) / seconds;
  } finally {
    child.kill('SIGKILL');
  }
}

/**
 * Events delivered per second to subscribers spread evenly over `nodes`, all of one board,
 * written through the first node at 16 writes in flight.
 */
export async function measureFanout(nodes: string[], subscribers: number, writes: number): Promise<number> {
  const board = randomBoard('bench-fan');
  const wsUrls = nodes.map((n) => `${n.replace(/^http/, 'ws')}/v1/ws`);
  const sockets = await openAll(Array.from({ length: subscribers }, (_, i) => wsUrls[i % wsUrls.length]!));
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('message', () => resolve());
          ws.send(JSON.stringify({ id: 1, op: 'subscribe', board, patterns: ['**'] }));
        }),
    ),
  );
  const writer = new BlackboardClient({ url: nodes[0]!, WebSocket: WebSocket as unknown as SocketFactory });
  await writer.connect();
  const value = sampleValue;
  let t0 = 0;
  const delivered = awaitDelivery(sockets, writes, () => t0);
  t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < writes) {
        const i = next++;
        await writer.put(board, `k/${i % 100}`, value);
      }
    }),
  );
  const seconds = await delivered;
  for (const ws of sockets) ws.terminate();
  writer.close();
  return (subscribers * writes) / seconds;
}

const sampleValue = { status: 'working', step: 3, notes: 'a small agent state value' };

/** Events delivered per second to N subscribers of one board, beside a bare ws broadcast of the same bytes. */
export async function benchFanout(options: { url: string; subscribers: number; writes: number }): Promise<Figure[]> {
  const { subscribers, writes } = options;
  const rate = await measureFanout([options.url], subscribers, writes);
  const value = sampleValue;
  const sampleEvent = JSON.stringify({ rev: 1, key: 'k/1', type: 'put', version: 1, value, actor: 'bench', ts: Date.now() });
  const frame = `{"push":"events","sub":"s1","events":[${sampleEvent}]}`;
  const baseline = await bareBroadcast(subscribers, writes, frame);
  return [
    {
      name: `fan-out to ${subscribers} subscribers (${writes} writes, 16 in flight)`,
      value: round(rate, 0),
      unit: 'events/s',
      baseline: round(baseline, 0),
      baselineName: 'bare ws broadcast, one frame per write',
      ratio: round(rate / baseline, 3),
      goal: '≥ 70% of bare broadcast',
    },
  ];
}

/** Fan-out to the same subscribers from one node, then from two nodes sharing the load. */
export async function benchFanoutNodes(options: { one: string; two: [string, string]; subscribers: number; writes: number }): Promise<Figure[]> {
  const single = await measureFanout([options.one], options.subscribers, options.writes);
  const pair = await measureFanout(options.two, options.subscribers, options.writes);
  return [
    {
      name: `fan-out to ${options.subscribers} subscribers over 2 nodes`,
      value: round(pair, 0),
      unit: 'events/s',
      baseline: round(single, 0),
      baselineName: `the same over 1 node`,
      ratio: round(pair / single, 3),
    },
  ];
}
