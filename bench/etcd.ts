import { benchBoard } from './boards.js';
import { admitted, connectClient, type BenchContext } from './context.js';
import { measureFanout, sampleValue } from './fanout.js';
import { findEtcd, startEtcd } from './etcd-process.js';
import { percentile, round, type Figure } from './stats.js';

/**
 * Side by side with etcd, where it is installed: compare-and-set at 64 in flight, and
 * watch fan-out to many watchers. etcd is spoken to through its HTTP/JSON gateway
 * (`/v3/kv/txn`, streaming `/v3/watch`) with fetch, as no etcd client is a dependency.
 */

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function post<T>(url: string, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** `workers` loops, each owning one key, doing compare-and-set until `total` have committed. */
async function casLoops(total: number, workers: number, cas: (w: number) => Promise<void>): Promise<{ rate: number; p99: number }> {
  let started = 0;
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (started < total) {
        started++;
        const s = performance.now();
        await cas(w);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { rate: latencies.length / seconds, p99: percentile(latencies.sort((a, b) => a - b), 99) };
}

async function etcdCas(url: string, total: number): Promise<{ rate: number; p99: number }> {
  const versions = Array.from({ length: 64 }, () => 0);
  const value = b64(JSON.stringify(sampleValue));
  return casLoops(total, 64, async (w) => {
    const key = b64(`cas/${w}`);
    // Version 0 means absent, as with ifVersion: 0.
    const compare = [{ key, target: 'VERSION', result: 'EQUAL', version: String(versions[w]) }];
    const reply = await post<{ succeeded?: boolean }>(url, '/v3/kv/txn', { compare, success: [{ request_put: { key, value } }], failure: [] });
    if (!reply.succeeded) throw new Error('etcd compare-and-set lost on a key only one loop writes');
    versions[w]!++;
  });
}

async function oursCas(ctx: BenchContext, total: number): Promise<{ rate: number; p99: number }> {
  const client = await connectClient(ctx.url);
  const board = benchBoard('cas64');
  const versions = Array.from({ length: 64 }, () => 0);
  try {
    return await casLoops(total, 64, async (w) => {
      const result = await admitted(() => client.put(board, `cas/${w}`, sampleValue, { ifVersion: versions[w]! }));
      versions[w] = result.version;
    });
  } finally {
    client.close();
  }
}

/** Events delivered per second to `watchers` etcd watch streams of one prefix, written at 16 in flight. */
async function etcdFanout(url: string, watchers: number, writes: number): Promise<number> {
  const aborts: AbortController[] = [];
  const counts: number[] = [];
  let ready = 0;
  let complete = 0;
  let onComplete: () => void = () => undefined;
  const allDelivered = new Promise<void>((resolve) => (onComplete = resolve));
  const watch = async (i: number) => {
    const abort = new AbortController();
    aborts.push(abort);
    counts[i] = 0;
    const res = await fetch(`${url}/v3/watch`, {
      method: 'POST',
      body: JSON.stringify({ create_request: { key: b64('w/'), range_end: b64('w0') } }),
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    let created: () => void = () => undefined;
    const isCreated = new Promise<void>((resolve) => (created = resolve));
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          buffered += decoder.decode(value, { stream: true });
          let nl: number;
          while ((nl = buffered.indexOf('\n')) !== -1) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (!line) continue;
            const { result } = JSON.parse(line) as { result?: { created?: boolean; events?: unknown[] } };
            if (result?.created) created();
            const before = counts[i]!;
            counts[i] = before + (result?.events?.length ?? 0);
            if (before < writes && counts[i]! >= writes && ++complete === watchers) onComplete();
          }
        }
      } catch {
        // aborted at the end
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      isCreated,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('an etcd watch was not created within 30 s')), 30_000))),
    ]);
    clearTimeout(timer);
    ready++;
  };
  try {
    for (let i = 0; i < watchers; i += 100) await Promise.all(Array.from({ length: Math.min(100, watchers - i) }, (_, j) => watch(i + j)));
    if (ready !== watchers) throw new Error(`only ${ready}/${watchers} etcd watches were created`);
    const value = b64(JSON.stringify(sampleValue));
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < writes) {
          const i = next++;
          await post(url, '/v3/kv/put', { key: b64(`w/${i % 100}`), value });
        }
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      allDelivered,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`etcd watch delivery timed out (${complete}/${watchers})`)), 120_000))),
    ]);
    clearTimeout(timer);
    return (watchers * writes) / ((performance.now() - t0) / 1000);
  } finally {
    for (const a of aborts) a.abort();
  }
}

/** Figures beside etcd, or null when etcd is not installed. */
export async function benchEtcd(ctx: BenchContext): Promise<{ figures: Figure[]; version: string } | null> {
  const binary = findEtcd();
  if (!binary) return null;
  const etcd = await startEtcd(binary);
  try {
    const total = ctx.plan.count(10_000);
    const theirs = await etcdCas(etcd.url, total);
    const ours = await oursCas(ctx, total);
    const watchers = ctx.plan.etcdWatchers;
    const writes = ctx.plan.count(300);
    const theirFanout = await etcdFanout(etcd.url, watchers, writes);
    const ourFanout = (await measureFanout([ctx.url], watchers, writes)).rate;
    const baselineName = `etcd ${etcd.version} (JSON gateway)`;
    return {
      version: etcd.version,
      figures: [
        { name: 'compare-and-set, 64 in flight (one key per loop)', value: round(ours.rate, 0), unit: 'ops/s', baseline: round(theirs.rate, 0), baselineName, ratio: round(ours.rate / theirs.rate, 3), goal: '≥ 3× etcd' },
        { name: 'compare-and-set p99 latency', value: round(ours.p99, 3), unit: 'ms', baseline: round(theirs.p99, 3), baselineName, ratio: round(theirs.p99 / ours.p99, 3) },
        { name: `events to ${watchers} subscribers / watchers (${writes} writes)`, value: round(ourFanout, 0), unit: 'events/s', baseline: round(theirFanout, 0), baselineName, ratio: round(ourFanout / theirFanout, 3), goal: '≥ 2× etcd' },
      ],
    };
  } finally {
    await etcd.stop();
  }
}
