import { spawn } from 'node:child_process';
import { WebSocket } from 'ws';
import { BlackboardClient } from '../client/sdk/index.js';
import { benchBoard } from './boards.js';
import { admitted } from './context.js';
import { awaitDelivery, closeAll, openAll, seqsIn, subOf, subscribeAll, wsUrl } from './sockets.js';
import { processCpuMs } from './machine.js';
import { percentile, round, type Figure } from './stats.js';

export const sampleValue = { status: 'working', step: 3, notes: 'a small agent state value' };

/** A child process running bench/bare-broadcast.ts (or another bare server); resolves with its port. */
export async function startBareServer(script = 'bench/bare-broadcast.ts'): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', r));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  return {
    port,
    pid: child.pid!,
    async stop() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function bareBroadcast(subscribers: number, writes: number, frame: string): Promise<number> {
  const bare = await startBareServer();
  const sockets = await openAll(Array.from({ length: subscribers }, () => `ws://127.0.0.1:${bare.port}/`));
  try {
    const control = (await openAll([`ws://127.0.0.1:${bare.port}/control`]))[0]!;
    sockets.push(control);
    await new Promise((r) => setTimeout(r, 200));
    let t0 = 0;
    const delivered = awaitDelivery(sockets.slice(0, subscribers), writes, () => t0);
    t0 = performance.now();
    control.send(JSON.stringify({ go: writes, frame }));
    const seconds = await delivered;
    return (subscribers * writes) / seconds;
  } finally {
    closeAll(sockets);
    await bare.stop();
  }
}

export interface FanoutResult {
  /** Events delivered per second, all subscribers together. */
  rate: number;
  /** p99 of write sent → event received, at the sampled subscribers (ms). */
  eventP99: number;
}

/** How many subscribers parse their frames to time the events (the rest only count them). */
const TIMED_SUBSCRIBERS = 20;

/**
 * Events delivered per second to subscribers spread evenly over `nodes`, all of one board,
 * written through the first node with `inFlight` writes in flight. Each subscriber has a
 * connection of its own unless `connections` is given: then the subscriptions are spread
 * over that many connections (as a watch client multiplexes its watches on one stream).
 */
export async function measureFanout(nodes: string[], subscribers: number, writes: number, inFlight = 16, connections = subscribers): Promise<FanoutResult> {
  const board = benchBoard('fan');
  const urls = nodes.map(wsUrl);
  const perSocket = subscribers / connections;
  if (!Number.isInteger(perSocket)) throw new Error(`${subscribers} subscribers do not spread evenly over ${connections} connections`);
  const sockets = await openAll(Array.from({ length: connections }, (_, i) => urls[i % urls.length]!));
  const writer = new BlackboardClient({ url: nodes[0]!, WebSocket });
  const sentAt: number[] = new Array(writes);
  const latencies: number[] = [];
  try {
    const subs = await subscribeAll(sockets, board, {}, perSocket);
    await writer.connect();
    // Every step-th subscription is timed (the same share on every connection); the clock is this process's for both ends.
    const time = (data: Buffer) => {
      const now = performance.now();
      for (const seq of seqsIn(data.toString())) {
        const sent = sentAt[seq];
        if (sent !== undefined) latencies.push(now - sent);
      }
    };
    const step = Math.max(1, Math.floor(subscribers / TIMED_SUBSCRIBERS));
    subs.forEach((ids, s) => {
      const timed = new Set(ids.filter((_, j) => (s * perSocket + j) % step === 0));
      if (timed.size > 0) sockets[s]!.on('message', (data: Buffer) => timed.has(subOf(data)) && time(data));
    });
    let t0 = 0;
    const delivered = awaitDelivery(sockets, writes * perSocket, () => t0);
    t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < writes) {
          const i = next++;
          sentAt[i] = performance.now();
          await admitted(() => writer.put(board, `k/${i % 100}`, { ...sampleValue, seq: i }));
        }
      }),
    );
    const seconds = await delivered;
    latencies.sort((a, b) => a - b);
    return { rate: (subscribers * writes) / seconds, eventP99: percentile(latencies, 99) };
  } finally {
    closeAll(sockets);
    writer.close();
  }
}

/** Events delivered per second to N subscribers of one board, beside a bare ws broadcast of the same bytes. */
export async function benchFanout(options: { url: string; subscribers: number; writes: number; inFlight?: number; goal?: string }): Promise<Figure[]> {
  const { subscribers, writes, inFlight = 16 } = options;
  const { rate, eventP99 } = await measureFanout([options.url], subscribers, writes, inFlight);
  const sampleEvent = JSON.stringify({ rev: 1, key: 'k/1', type: 'put', version: 1, value: { ...sampleValue, seq: 1 }, actor: 'bench', ts: Date.now() });
  const frame = `{"push":"events","sub":"s1","events":[${sampleEvent}]}`;
  const baseline = await bareBroadcast(subscribers, writes, frame);
  const how = inFlight === 1 ? 'one write at a time' : `${inFlight} in flight`;
  const name = `fan-out to ${subscribers} subscriber${subscribers === 1 ? '' : 's'} (${writes} writes, ${how})`;
  return [
    {
      name,
      value: round(rate, 0),
      unit: 'events/s',
      baseline: round(baseline, 0),
      baselineName: 'bare ws broadcast, one frame per write',
      ratio: round(rate / baseline, 3),
      ...(options.goal ? { goal: options.goal } : {}),
    },
    ...(subscribers >= 100
      ? [
          {
            name: `${name}: event p99 latency (write sent → event received)`,
            value: round(eventP99, 1),
            unit: 'ms',
            ...(subscribers === 1_000 && inFlight > 1 ? { goal: '≤ 100 ms' } : {}),
          },
        ]
      : []),
  ];
}

/** Writes per second through one new connection with `inFlight` writes in flight, until all are acknowledged. */
async function measurePuts(url: string, writes: number, inFlight: number): Promise<number> {
  const board = benchBoard('puts');
  const writer = new BlackboardClient({ url, WebSocket });
  try {
    await writer.connect();
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < writes) {
          const i = next++;
          await admitted(() => writer.put(board, `k/${i % 100}`, { ...sampleValue, seq: i }));
        }
      }),
    );
    return writes / ((performance.now() - t0) / 1000);
  } finally {
    writer.close();
  }
}

/**
 * Fan-out to one subscriber against the same writes with no subscriber at all, at the same
 * concurrency: what one subscriber costs the write rate. The two take turns in four rounds.
 */
export async function benchFanoutToOne(options: { url: string; writes: number; inFlight?: number; goal?: string; serverPid?: number }): Promise<Figure[]> {
  const { url, inFlight = 16, serverPid } = options;
  const share = Math.max(1, Math.round(options.writes / 4));
  // Both paths warm up first (the JIT on both sides, the boards' first writes).
  await measureFanout([url], 1, share, inFlight);
  await measurePuts(url, share, inFlight);
  const serverCpu = () => (serverPid === undefined ? 0 : processCpuMs(serverPid));
  const spent = { fan: { seconds: 0, cpuMs: 0 }, put: { seconds: 0, cpuMs: 0 } };
  for (let round = 0; round < 4; round++) {
    let cpu = serverCpu();
    spent.fan.seconds += share / (await measureFanout([url], 1, share, inFlight)).rate;
    spent.fan.cpuMs += serverCpu() - cpu;
    cpu = serverCpu();
    spent.put.seconds += share / (await measurePuts(url, share, inFlight));
    spent.put.cpuMs += serverCpu() - cpu;
  }
  const writes = 4 * share;
  const rate = writes / spent.fan.seconds;
  const baseline = writes / spent.put.seconds;
  const baselineName = `put at ${inFlight} in flight, no subscriber, same run`;
  const figures: Figure[] = [
    {
      name: `fan-out to 1 subscriber (${writes} writes, ${inFlight} in flight)`,
      value: round(rate, 0),
      unit: 'events/s',
      baseline: round(baseline, 0),
      baselineName,
      ratio: round(rate / baseline, 3),
      ...(options.goal ? { goal: options.goal } : {}),
    },
  ];
  if (serverPid !== undefined) {
    // The server's own CPU per write: what the subscriber costs it, whatever else the machine runs.
    const perWrite = (spent.fan.cpuMs * 1_000) / writes;
    const basePerWrite = (spent.put.cpuMs * 1_000) / writes;
    figures.push({
      name: '… server CPU per write',
      value: round(perWrite, 1),
      unit: 'µs',
      baseline: round(basePerWrite, 1),
      baselineName,
      ratio: round(basePerWrite / perWrite, 3),
    });
  }
  return figures;
}

/** Fan-out to the same subscribers from one node, then from two nodes sharing the load. */
export async function benchFanoutNodes(options: { one: string; two: [string, string]; subscribers: number; writes: number }): Promise<Figure[]> {
  const single = (await measureFanout([options.one], options.subscribers, options.writes)).rate;
  const pair = (await measureFanout(options.two, options.subscribers, options.writes)).rate;
  return [
    {
      name: `fan-out to ${options.subscribers} subscribers over 2 nodes (${options.writes} writes)`,
      value: round(pair, 0),
      unit: 'events/s',
      baseline: round(single, 0),
      baselineName: 'the same over 1 node',
      ratio: round(pair / single, 3),
    },
  ];
}
