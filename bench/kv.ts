import { benchBoard } from './boards.js';
import { admitted, connectClient, valueText, type BenchContext } from './context.js';
import { sampleValue } from './fanout.js';
import { round, runConcurrent, throughputFigures, type Figure } from './stats.js';

/**
 * `put` through the whole server against the raw baseline: the server's own commit
 * script called directly through ioredis (EVALSHA, with a reqId as the SDK sends one),
 * at the same concurrency, in the same run. At 64 in flight it runs twice: alone, and
 * with one subscriber of the board receiving every event.
 */
export async function benchPut(ctx: BenchContext): Promise<Figure[]> {
  const { store, plan } = ctx;
  const client = await connectClient(ctx.url);
  const listener = await connectClient(ctx.url);
  const figures: Figure[] = [];
  try {
    for (const [inFlight, total] of [
      [1, plan.count(2_000)],
      [64, plan.count(20_000)],
    ] as const) {
      const rawBoard = benchBoard('raw');
      await store.createBoard(rawBoard);
      const raw = await runConcurrent(total, inFlight, (i) =>
        store.commit({
          board: rawBoard,
          actorJson: '"bench"',
          reqId: `${rawBoard}-${i}`,
          shape: 'put',
          compares: [],
          ops: [{ kind: 'put', key: `k/${i % 100}`, valueText }],
        }),
      );
      const goal = inFlight === 64 ? '≥ 50% of raw' : undefined;
      const board = benchBoard('put');
      await admitted(() => client.put(board, 'warmup', 1));
      const measured = await runConcurrent(total, inFlight, (i) => admitted(() => client.put(board, `k/${i % 100}`, sampleValue)));
      figures.push(...throughputFigures(`put, ${inFlight} in flight`, measured, raw, 'raw commit script (EVALSHA via ioredis)', goal));
      if (inFlight !== 64) continue;

      const watched = benchBoard('put-sub');
      let received = 0;
      await listener.subscribe({ board: watched, patterns: ['**'] }, { events: (events) => (received += events.length) });
      const withSub = await runConcurrent(total, inFlight, (i) => admitted(() => client.put(watched, `k/${i % 100}`, sampleValue)));
      const deadline = Date.now() + 30_000;
      while (received < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      figures.push(
        ...throughputFigures(`put, ${inFlight} in flight, 1 subscriber`, withSub, raw, 'raw commit script (EVALSHA via ioredis)', goal),
        { name: 'events received by that subscriber', value: received, unit: 'events', baseline: total, baselineName: 'writes acknowledged', ratio: round(received / total, 3) },
      );
    }
  } finally {
    client.close();
    listener.close();
  }
  return figures;
}
