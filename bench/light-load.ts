import type { WebSocket } from 'ws';
import { benchBoard } from './boards.js';
import type { BenchContext } from './context.js';
import { startBareServer } from './fanout.js';
import { closeAll, openAll, wsUrl } from './sockets.js';
import { percentile, round, type Figure } from './stats.js';
import { startSwarm, type Swarm } from './swarm.js';

/**
 * Event latency at light load, where agents mostly live: writes offered at a low steady
 * rate to a board with many subscribers, each event timed from its send to its arrival at
 * every subscriber (all of them, in a child process, so the first and the last subscriber
 * of a round both count). Beside it, in the same run, a bare `ws` server broadcasts one
 * frame per write, as it arrives, to as many sockets at the same rate. The two take turns.
 */

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** Calls `send(i)` `rate` times a second for `seconds`, on a timer, whatever the replies do. */
async function offer(rate: number, seconds: number, send: (i: number) => void): Promise<number> {
  const t0 = performance.now();
  let issued = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Math.min(performance.now() - t0, seconds * 1_000);
      for (const due = Math.floor((elapsed / 1_000) * rate); issued < due; issued++) send(issued);
      if (elapsed >= seconds * 1_000) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  return issued;
}

interface Side {
  swarm: Swarm;
  send(i: number): void;
  latencies: number[];
  /** Events the subscribers should have had: committed writes × subscribers. */
  expected: number;
  /** Writes committed so far (for the bare broadcast: every frame sent). */
  committed(): number;
}

async function turn(side: Side, rate: number, seconds: number, subscribers: number, record: boolean): Promise<void> {
  const before = side.committed();
  await offer(rate, seconds, side.send);
  await settle(500);
  const { latencies = [] } = await side.swarm.report();
  if (!record) return;
  for (const l of latencies) side.latencies.push(l);
  if (process.env.BENCH_DEBUG)
    process.stderr.write(
      `turn: ${latencies.length} latencies, p50 ${percentile(
        [...latencies].sort((x, y) => x - y),
        50,
      )}\n`,
    );
  side.expected += (side.committed() - before) * subscribers;
}

export async function benchLightLoad(ctx: BenchContext, options: { subscribers: number; rate: number; seconds: number }): Promise<Figure[]> {
  const { subscribers, rate, seconds } = options;
  const board = benchBoard('light');
  const bare = await startBareServer();
  const swarms: Swarm[] = [];
  const sockets: WebSocket[] = [];
  try {
    swarms.push(await startSwarm(wsUrl(ctx.url), board, subscribers, true));
    swarms.push(await startSwarm(`ws://127.0.0.1:${bare.port}/`, board, subscribers, true));
    const [writer, control] = await openAll([wsUrl(ctx.url), `ws://127.0.0.1:${bare.port}/control`]);
    sockets.push(writer!, control!);
    let refused = 0;
    let committed = 0;
    let sent = 0;
    writer!.on('message', (data) => {
      if (data.toString().includes('"ok":true')) committed++;
      else refused++;
    });
    const value = (i: number) => `{"seq":${i},"sentUs":${nowUs()},"notes":"a small agent state value"}`;
    const ours: Side = {
      swarm: swarms[0]!,
      send: (i) => writer!.send(`{"id":${i + 1},"op":"put","board":${JSON.stringify(board)},"key":"k/${i % 100}","value":${value(i)}}`),
      latencies: [],
      expected: 0,
      committed: () => committed,
    };
    const theirs: Side = {
      swarm: swarms[1]!,
      send: (i) => {
        const event = `{"rev":${i + 1},"key":"k/${i % 100}","type":"put","version":${Math.floor(i / 100) + 1},"value":${value(i)},"actor":"bench","ts":${Date.now()}}`;
        control!.send(JSON.stringify({ once: `{"push":"events","sub":"s1","events":[${event}]}` }));
        sent++;
      },
      latencies: [],
      expected: 0,
      committed: () => sent,
    };
    // A second of each first (connections, JIT), then two turns each, taking turns.
    await turn(ours, rate, 1, subscribers, false);
    await turn(theirs, rate, 1, subscribers, false);
    for (let i = 0; i < 2; i++) {
      await turn(ours, rate, seconds / 2, subscribers, true);
      await turn(theirs, rate, seconds / 2, subscribers, true);
    }
    const figures: Figure[] = [];
    const a = ours.latencies.sort((x, y) => x - y);
    const b = theirs.latencies.sort((x, y) => x - y);
    const label = `${rate} writes/s to ${subscribers} subscribers`;
    const baselineName = `bare ws broadcast of one frame per write, ${rate}/s to ${subscribers} sockets`;
    for (const p of [50, 99]) {
      const value = percentile(a, p);
      const base = percentile(b, p);
      figures.push({
        name: `event p${p} latency at ${label} (write sent → event received, every subscriber)`,
        value: round(value, 1),
        unit: 'ms',
        baseline: round(base, 1),
        baselineName,
        ratio: round(base / value, 3),
        ...(p === 99 ? { goal: '≤ 1.5× bare (ratio ≥ 0.67) and ≤ 20 ms' } : {}),
      });
    }
    const missing = ours.expected - a.length + (theirs.expected - b.length);
    if (missing !== 0 || refused > 0) {
      figures.push({
        name: `events not received (of ${ours.expected + theirs.expected}, both sides); writes refused: ${refused}`,
        value: missing,
        unit: 'events',
      });
    }
    return figures;
  } finally {
    closeAll(sockets);
    for (const swarm of swarms) await swarm.stop();
    await bare.stop();
  }
}
