import { randomBytes } from 'node:crypto';
import { Etcd3, type Watcher } from 'etcd3';
import { percentile } from './stats.js';

/** Events delivered, all watchers together, and the p99 of write sent → event received at a sample of them. */
export interface WatchResult {
  rate: number;
  eventP99: number;
}

/**
 * An `etcd3` (gRPC) client of its own. grpc-js shares connections between clients of the
 * same address unless told not to: each client here is one TCP connection.
 */
export function etcdClient(url: string): Etcd3 {
  return new Etcd3({ hosts: url, grpcOptions: { 'grpc.use_local_subchannel_pool': 1 } });
}

const TIMED_WATCHERS = 20;
const WAIT_MS = 120_000;

/**
 * Events delivered per second to `watchers` watches of one prefix, spread over
 * `connections` gRPC connections (each client multiplexes its watches on one stream, as
 * etcd's clients do), written by another client at 16 in flight.
 */
export async function etcdWatchFanout(url: string, watchers: number, writes: number, connections: number): Promise<WatchResult> {
  const clients = Array.from({ length: connections }, () => etcdClient(url));
  const writer = etcdClient(url);
  const prefix = `w-${randomBytes(4).toString('hex')}/`;
  const watches: Watcher[] = [];
  const sentAt: number[] = new Array(writes);
  const latencies: number[] = [];
  let complete = 0;
  let onComplete: () => void = () => undefined;
  const allDelivered = new Promise<void>((resolve) => (onComplete = resolve));
  try {
    const step = Math.max(1, Math.floor(watchers / TIMED_WATCHERS));
    for (let i = 0; i < watchers; i += 100) {
      const wave = await Promise.all(
        Array.from({ length: Math.min(100, watchers - i) }, (_, j) => clients[(i + j) % connections]!.watch().prefix(prefix).create()),
      );
      wave.forEach((watch, j) => {
        const timed = (i + j) % step === 0;
        let count = 0;
        watch.on('data', (res) => {
          const now = performance.now();
          if (timed) {
            for (const event of res.events) {
              const seq = (JSON.parse(event.kv.value.toString()) as { seq: number }).seq;
              const sent = sentAt[seq];
              if (sent !== undefined) latencies.push(now - sent);
            }
          }
          const before = count;
          count += res.events.length;
          if (before < writes && count >= writes && ++complete === watchers) onComplete();
        });
      });
      watches.push(...wave);
    }
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < writes) {
          const i = next++;
          sentAt[i] = performance.now();
          await writer.put(`${prefix}${i % 100}`).value(JSON.stringify({ status: 'working', step: 3, notes: 'a small agent state value', seq: i }));
        }
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      allDelivered,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`etcd watch delivery timed out (${complete}/${watchers})`)), WAIT_MS))),
    ]);
    clearTimeout(timer);
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    return { rate: (watchers * writes) / seconds, eventP99: percentile(latencies, 99) };
  } finally {
    await Promise.all(watches.map((w) => w.cancel().catch(() => undefined)));
    for (const client of [...clients, writer]) client.close();
  }
}
