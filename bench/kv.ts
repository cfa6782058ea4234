import type { WebSocket } from 'ws';
import { benchBoard } from './boards.js';
import { closeAll, countEvents, openAll, subscribeAll, wsUrl } from './sockets.js';
import { admitted, connectClient, valueText, type BenchContext } from './context.js';
import { sampleValue } from './fanout.js';
import { round, runConcurrent, throughputFigures, type Figure } from './stats.js';

/**
 * `put` through the whole server against the raw baseline: the server's own commit
 * script called directly through ioredis (EVALSHA, with a reqId as the SDK sends one),
 * at the same concurrency, in the same run, after both have warmed up, taking turns in four
 * rounds. At 64 in flight the server path runs twice: alone, and with one subscriber of the
 * board receiving every event.
 */
/** A request fingerprint as long as the server's (a SHA-256 digest, base64url). */
const FINGERPRINT = 'f'.repeat(43);

/** Rounds of one path as one run: all latencies, and the time spent in them. */
function combine(runs: Array<{ latencies: number[]; seconds: number }>): { latencies: number[]; seconds: number } {
  return {
    latencies: runs.flatMap((r) => r.latencies).sort((a, b) => a - b),
    seconds: runs.reduce((sum, r) => sum + r.seconds, 0),
  };
}

export async function benchPut(ctx: BenchContext): Promise<Figure[]> {
  const { store, plan } = ctx;
  const client = await connectClient(ctx.url);
  const figures: Figure[] = [];
  const listeners: WebSocket[] = [];
  try {
    // Both paths warm up first (the JIT, connections, Redis's script cache), so the measured
    // rounds compare steady states rather than whichever path was compiled first.
    const warmBoard = benchBoard('warm');
    await store.createBoard(warmBoard);
    const warmups = plan.count(5_000);
    await runConcurrent(warmups, 64, (i) =>
      store.commit({
        board: warmBoard,
        actorJson: '"bench"',
        reqId: `${warmBoard}-${i}`,
        fingerprint: FINGERPRINT,
        shape: 'put',
        compares: [],
        ops: [{ kind: 'put', key: `k/${i % 100}`, valueText }],
      }),
    );
    await runConcurrent(warmups, 64, (i) => admitted(() => client.put(warmBoard, `w/${i % 100}`, sampleValue)));
    // The subscriber counts its events without parsing them (as in the fan-out section), so
    // that the figure measures the server's work for it rather than this process's.
    const watched = benchBoard('put-sub');
    listeners.push(...(await openAll([wsUrl(ctx.url)])));
    await subscribeAll(listeners, watched);
    let received = 0;
    listeners[0]!.on('message', (data) => (received += countEvents(data as Buffer)));
    for (const [inFlight, total] of [
      [1, plan.count(2_000)],
      [64, plan.count(20_000)],
    ] as const) {
      const rawBoard = benchBoard('raw');
      await store.createBoard(rawBoard);
      const board = benchBoard('put');
      const withSub = inFlight === 64;
      // The paths take turns, a share of the operations each per round, so a drift in the
      // machine's speed during the section lands on all of them alike.
      const rounds = 4;
      const share = Math.max(1, Math.round(total / rounds));
      const runs: Record<'raw' | 'put' | 'sub', Array<{ latencies: number[]; seconds: number }>> = { raw: [], put: [], sub: [] };
      const receivedBefore = received;
      for (let round = 0; round < rounds; round++) {
        const offset = round * share;
        runs.raw.push(
          await runConcurrent(share, inFlight, (i) =>
            store.commit({
              board: rawBoard,
              actorJson: '"bench"',
              reqId: `${rawBoard}-${offset + i}`,
              fingerprint: FINGERPRINT,
              shape: 'put',
              compares: [],
              ops: [{ kind: 'put', key: `k/${i % 100}`, valueText }],
            }),
          ),
        );
        runs.put.push(await runConcurrent(share, inFlight, (i) => admitted(() => client.put(board, `k/${i % 100}`, sampleValue))));
        if (withSub) runs.sub.push(await runConcurrent(share, inFlight, (i) => admitted(() => client.put(watched, `k/${i % 100}`, sampleValue))));
      }
      const raw = combine(runs.raw);
      const goal = inFlight === 64 ? '≥ 50% of raw' : undefined;
      figures.push(...throughputFigures(`put, ${inFlight} in flight`, combine(runs.put), raw, 'raw commit script (EVALSHA via ioredis)', goal));
      if (!withSub) continue;
      const expected = share * rounds;
      const deadline = Date.now() + 30_000;
      while (received - receivedBefore < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      figures.push(...throughputFigures(`put, ${inFlight} in flight, 1 subscriber`, combine(runs.sub), raw, 'raw commit script (EVALSHA via ioredis)', goal), {
        name: 'events received by that subscriber',
        value: received - receivedBefore,
        unit: 'events',
        baseline: expected,
        baselineName: 'writes acknowledged',
        ratio: round((received - receivedBefore) / expected, 3),
      });
    }
  } finally {
    client.close();
    closeAll(listeners);
  }
  return figures;
}
