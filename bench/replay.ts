import { boardKeys } from '../server/board/keys.js';
import { benchBoard } from './boards.js';
import { admitted, connectClient, valueText, type BenchContext } from './context.js';
import { closeAll, countEvents, openAll, wsUrl } from './sockets.js';
import { round, runConcurrent, type Figure } from './stats.js';

/**
 * Resume: a subscriber that comes back with `fromRev: 1` on a board of N revisions gets
 * every one of them, then live events. Measured from the subscribe frame to the last
 * replayed event, beside reading the same stream with XRANGE (1,000 entries a call, as the
 * server reads it) through ioredis.
 */
export async function benchReplay(ctx: BenchContext): Promise<Figure[]> {
  const revisions = ctx.plan.replayRevisions;
  const board = benchBoard('replay');
  const client = await connectClient(ctx.url);
  try {
    // Created through the server, so the board is set up as any other (history on).
    await admitted(() => client.put(board, 'first', 1));
  } finally {
    client.close();
  }
  await runConcurrent(revisions - 1, 64, (i) =>
    ctx.store.commit({ board, actorJson: '"bench"', shape: 'put', compares: [], ops: [{ kind: 'put', key: `k/${i % 1_000}`, valueText }] }),
  );

  // Three rounds of each, the median kept: one round is a few hundred milliseconds at most.
  const replays: number[] = [];
  const reads: number[] = [];
  for (let i = 0; i < 3; i++) {
    replays.push(await replayOnce(ctx.url, board, revisions));
    reads.push(await xrangeOnce(ctx, board, revisions));
  }
  const seconds = median(replays);
  const rawSeconds = median(reads);
  const rate = revisions / seconds;
  const rawRate = revisions / rawSeconds;
  return [
    {
      name: `resume with fromRev over ${revisions} revisions`,
      value: round(rate, 0),
      unit: 'events/s',
      baseline: round(rawRate, 0),
      baselineName: 'XRANGE of the same stream via ioredis',
      ratio: round(rate / rawRate, 3),
    },
  ];
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/** Seconds from sending `subscribe` with fromRev 1 to receiving the last of `revisions` events. */
async function replayOnce(url: string, board: string, revisions: number): Promise<number> {
  const socket = (await openAll([wsUrl(url)]))[0]!;
  try {
    return await new Promise<number>((resolve, reject) => {
      let got = 0;
      const t0 = performance.now();
      const timer = setTimeout(() => reject(new Error(`replay timed out at ${got}/${revisions} events`)), 120_000);
      socket.on('message', (data) => {
        const text = data.toString();
        if (text.startsWith('{"id"') && !text.includes('"ok":true')) {
          clearTimeout(timer);
          reject(new Error(`subscribe refused: ${text.slice(0, 200)}`));
          return;
        }
        got += countEvents(text);
        if (got >= revisions) {
          clearTimeout(timer);
          resolve((performance.now() - t0) / 1000);
        }
      });
      socket.send(JSON.stringify({ id: 1, op: 'subscribe', board, patterns: ['**'], fromRev: 1 }));
    });
  } finally {
    closeAll([socket]);
  }
}

/** Seconds to read the board's whole stream with XRANGE, 1,000 entries a call, as the server does. */
async function xrangeOnce(ctx: BenchContext, board: string, revisions: number): Promise<number> {
  const log = boardKeys(board).log;
  const t0 = performance.now();
  let read = 0;
  for (let next = 1; ; ) {
    const entries = (await ctx.redis.xrange(log, `${next}-0`, '+', 'COUNT', 1_000)) as Array<[string, string[]]>;
    read += entries.length;
    if (entries.length < 1_000) break;
    next = Number(entries[entries.length - 1]![0].split('-')[0]) + 1;
  }
  if (read !== revisions) throw new Error(`the stream holds ${read} entries, expected ${revisions}`);
  return (performance.now() - t0) / 1000;
}
