import type { Etcd3 } from 'etcd3';
import type { BlackboardClient } from '../client/sdk/index.js';
import { benchBoard } from './boards.js';
import { admitted, connectClient, type BenchContext } from './context.js';
import { findEtcd, startEtcd, type EtcdProcess } from './etcd-process.js';
import { etcdClient, etcdWatchFanout } from './etcd-watch.js';
import { measureFanout, sampleValue } from './fanout.js';
import { alternate, percentile, round, type Figure } from './stats.js';

/**
 * Side by side with etcd as its users run it, where it is installed: through the `etcd3`
 * npm client (gRPC), one client for the 64 loops as the server gets one SDK connection.
 * put, compare-and-set, get and a lock cycle (etcd3's `Lock`: a lease and a transaction;
 * ours: acquireLock + releaseLock) at 64 in flight, each side taking turns with the other;
 * watch fan-out to many watchers spread over 10 gRPC connections. etcd runs twice: without
 * fsync (as the Redis behind the server keeps nothing on disk) for all of these, and with
 * fsync (its default) beside `durable` puts, which are acknowledged once Postgres has
 * committed them.
 */

const IN_FLIGHT = 64;
const WATCH_CONNECTIONS = 10;
const LOCK_TTL_S = 30;
type Run = { latencies: number[]; seconds: number };

function versus(label: string, ours: Run, theirs: Run, baselineName: string, goal?: string): Figure[] {
  const rate = ours.latencies.length / ours.seconds;
  const theirRate = theirs.latencies.length / theirs.seconds;
  const p99 = percentile(ours.latencies, 99);
  const theirP99 = percentile(theirs.latencies, 99);
  return [
    {
      name: `${label} throughput`,
      value: round(rate, 0),
      unit: 'ops/s',
      baseline: round(theirRate, 0),
      baselineName,
      ratio: round(rate / theirRate, 3),
      ...(goal ? { goal } : {}),
    },
    { name: `${label} p99 latency`, value: round(p99, 2), unit: 'ms', baseline: round(theirP99, 2), baselineName, ratio: round(theirP99 / p99, 3) },
  ];
}

/** A compare-and-set loop over 64 keys, never two at once on one key: each write expects the version the last one made. */
function casLoop(write: (key: string, version: number) => Promise<number>): () => Promise<void> {
  const free = Array.from({ length: IN_FLIGHT }, (_, i) => i);
  const versions = new Array<number>(IN_FLIGHT).fill(0);
  return async () => {
    const k = free.pop()!;
    try {
      versions[k] = await write(`cas/${k}`, versions[k]!);
    } finally {
      free.push(k);
    }
  };
}

async function withoutFsync(ctx: BenchContext, client: BlackboardClient, etcd: EtcdProcess, baselineName: string): Promise<Figure[]> {
  const theirs: Etcd3 = etcdClient(etcd.url);
  const figures: Figure[] = [];
  const value = JSON.stringify(sampleValue);
  try {
    const total = ctx.plan.count(10_000);
    const board = benchBoard('etcd');
    const puts = await alternate(
      total,
      IN_FLIGHT,
      (i) => admitted(() => client.put(board, `k/${i % 100}`, sampleValue)),
      (i) =>
        theirs
          .put(`k/${i % 100}`)
          .value(value)
          .exec(),
    );
    figures.push(...versus(`put, ${IN_FLIGHT} in flight`, puts.measured, puts.baseline, baselineName, '≥ 3× etcd'));

    const ourCas = casLoop(async (key, version) => (await admitted(() => client.put(board, key, sampleValue, { ifVersion: version }))).version);
    const theirCas = casLoop(async (key, version) => {
      // Version 0 means absent, as with ifVersion: 0.
      const reply = await theirs.if(key, 'Version', '==', version).then(theirs.put(key).value(value)).commit();
      if (!reply.succeeded) throw new Error('etcd compare-and-set lost on a key only one loop writes');
      return version + 1;
    });
    const cas = await alternate(total, IN_FLIGHT, ourCas, theirCas);
    figures.push(...versus(`compare-and-set, ${IN_FLIGHT} in flight (one key per loop)`, cas.measured, cas.baseline, baselineName, '≥ 3× etcd'));

    const gets = await alternate(
      total,
      IN_FLIGHT,
      (i) => client.get(board, `k/${i % 100}`),
      async (i) => {
        if ((await theirs.get(`k/${i % 100}`).string()) === null) throw new Error('etcd lost a key');
      },
    );
    figures.push(...versus(`get, ${IN_FLIGHT} in flight`, gets.measured, gets.baseline, baselineName));

    const lockBoard = benchBoard('etcd-lock');
    const locks = await alternate(
      ctx.plan.count(5_000),
      IN_FLIGHT,
      async (i) => {
        const { token } = await admitted(() => client.acquireLock(lockBoard, `l${i}`, { ttlMs: LOCK_TTL_S * 1_000 }));
        await admitted(() => client.releaseLock(lockBoard, `l${i}`, token));
      },
      async (i) => {
        const lock = await theirs.lock(`l${i}`).ttl(LOCK_TTL_S).acquire();
        await lock.release();
      },
    );
    figures.push(
      ...versus(
        `lock acquire+release, ${IN_FLIGHT} in flight (a free lock each)`,
        locks.measured,
        locks.baseline,
        `${baselineName}, its Lock (lease + txn)`,
        '≥ 3× etcd',
      ),
    );
  } finally {
    theirs.close();
  }

  const watchers = ctx.plan.etcdWatchers;
  const writes = ctx.plan.count(300);
  const theirFanout = await etcdWatchFanout(etcd.url, watchers, writes, WATCH_CONNECTIONS);
  // The same shape on both sides: the subscriptions, as the watches, spread over WATCH_CONNECTIONS connections.
  const ourFanout = await measureFanout([ctx.url], watchers, writes, 16, WATCH_CONNECTIONS);
  const watchBaseline = `${baselineName}, ${watchers} watches over ${WATCH_CONNECTIONS} connections`;
  figures.push(
    {
      name: `events to ${watchers} subscriptions / watches over ${WATCH_CONNECTIONS} connections each side (${writes} writes, 16 in flight)`,
      value: round(ourFanout.rate, 0),
      unit: 'events/s',
      baseline: round(theirFanout.rate, 0),
      baselineName: watchBaseline,
      ratio: round(ourFanout.rate / theirFanout.rate, 3),
      goal: '≥ 2× etcd',
    },
    {
      name: '… event p99 latency (write sent → event received)',
      value: round(ourFanout.eventP99, 1),
      unit: 'ms',
      baseline: round(theirFanout.eventP99, 1),
      baselineName: watchBaseline,
      ratio: round(theirFanout.eventP99 / ourFanout.eventP99, 3),
      goal: '≤ 100 ms',
    },
  );
  return figures;
}

async function withFsync(ctx: BenchContext, client: BlackboardClient, etcd: EtcdProcess, baselineName: string): Promise<Figure[]> {
  const theirs = etcdClient(etcd.url);
  const value = JSON.stringify(sampleValue);
  try {
    const board = benchBoard('etcd-durable');
    const puts = await alternate(
      ctx.plan.count(5_000),
      IN_FLIGHT,
      (i) => admitted(() => client.put(board, `k/${i % 100}`, sampleValue, { durability: 'durable' })),
      (i) =>
        theirs
          .put(`k/${i % 100}`)
          .value(value)
          .exec(),
    );
    return versus(`durable put, ${IN_FLIGHT} in flight (acknowledged once in Postgres)`, puts.measured, puts.baseline, baselineName, '≥ 1× etcd');
  } finally {
    theirs.close();
  }
}

/** Figures beside etcd, or null when etcd is not installed. */
export async function benchEtcd(ctx: BenchContext): Promise<{ figures: Figure[]; version: string } | null> {
  const binary = findEtcd();
  if (!binary) return null;
  const client = await connectClient(ctx.url);
  const figures: Figure[] = [];
  let version = 'unknown';
  try {
    const memory = await startEtcd(binary, { fsync: false });
    version = memory.version;
    try {
      figures.push(...(await withoutFsync(ctx, client, memory, `etcd ${version} (etcd3 gRPC client, no fsync)`)));
    } finally {
      await memory.stop();
    }
    const disk = await startEtcd(binary, { fsync: true });
    try {
      figures.push(...(await withFsync(ctx, client, disk, `etcd ${version} (etcd3 gRPC client, fsync on disk)`)));
    } finally {
      await disk.stop();
    }
  } finally {
    client.close();
  }
  return { figures, version };
}
