import { freePort, spawnServer } from '../test/helpers/process-server.js';
import { benchBoard } from './boards.js';
import { admitted, connectClient, type BenchContext } from './context.js';
import { measureFanout, sampleValue } from './fanout.js';
import { round, runConcurrent, type Figure } from './stats.js';

/** Puts per second from 4 connections at 16 in flight each (node:cluster spreads connections, not requests). */
async function putRate(url: string, total: number): Promise<number> {
  const clients = await Promise.all(Array.from({ length: 4 }, () => connectClient(url)));
  try {
    const board = benchBoard('workers');
    await admitted(() => clients[0]!.put(board, 'warmup', 1));
    const run = await runConcurrent(total, 64, (i) => admitted(() => clients[i % 4]!.put(board, `k/${i % 100}`, sampleValue)));
    return total / run.seconds;
  } finally {
    for (const c of clients) c.close();
  }
}

/**
 * The second core: the same server started with WORKERS=2 (node:cluster, two full nodes
 * sharing the listening socket) beside the single-process server of the rest of the run.
 * On a 2-core machine the load generator, the subscribers and Redis share those cores too.
 */
export async function benchWorkers(ctx: BenchContext): Promise<Figure[]> {
  const port = await freePort();
  const pair = await spawnServer(port, { ...ctx.serverEnv, WORKERS: '2' });
  const two = `http://127.0.0.1:${port}`;
  try {
    const subscribers = ctx.plan.fanoutSubscribers.includes(1_000) ? 1_000 : Math.max(...ctx.plan.fanoutSubscribers);
    const writes = ctx.plan.count(2_000);
    const fanOne = (await measureFanout([ctx.url], subscribers, writes)).rate;
    const fanTwo = (await measureFanout([two], subscribers, writes)).rate;
    const puts = ctx.plan.count(20_000);
    const putOne = await putRate(ctx.url, puts);
    const putTwo = await putRate(two, puts);
    const baselineName = 'the same server with WORKERS=1';
    return [
      {
        name: `fan-out to ${subscribers} subscribers (${writes} writes, 16 in flight), WORKERS=2`,
        value: round(fanTwo, 0),
        unit: 'events/s',
        baseline: round(fanOne, 0),
        baselineName,
        ratio: round(fanTwo / fanOne, 3),
      },
      {
        name: 'put, 4 connections × 16 in flight, WORKERS=2',
        value: round(putTwo, 0),
        unit: 'ops/s',
        baseline: round(putOne, 0),
        baselineName,
        ratio: round(putTwo / putOne, 3),
      },
    ];
  } finally {
    pair.child.kill('SIGTERM');
    await pair.exited;
  }
}
