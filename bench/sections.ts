import { writeFileSync } from 'node:fs';
import { spawnServer, freePort } from '../test/helpers/process-server.js';
import { latencyChart } from './chart.js';
import { benchAppends, benchHotKey } from './contention.js';
import type { BenchContext } from './context.js';
import { benchEtcd } from './etcd.js';
import { benchFanout, benchFanoutNodes, benchFanoutToOne } from './fanout.js';
import { benchLightLoad } from './light-load.js';
import { benchPut } from './kv.js';
import { runSweep, sweepFigures, sweepTable } from './load-sweep.js';
import { benchIdleMemory } from './memory.js';
import { benchMcp } from './mcp.js';
import { benchPython } from './python.js';
import { benchReplay } from './replay.js';
import { benchWorkers } from './workers.js';
import type { Section } from './report.js';
import type { Figure } from './stats.js';

/** One section of the report: a title and what produces it (figures, or a whole section). */
export interface SectionSpec {
  title: string;
  note?: string;
  /** Sections written elsewhere, whose boards are found afterwards rather than named here. */
  external?: boolean;
  run(ctx: BenchContext): Promise<Figure[] | Section>;
}

export const CHART_PATH = 'docs/benchmark-latency.svg';

/** The sections in the order they run. */
export function sectionSpecs(): SectionSpec[] {
  return [
    { title: 'Writes', run: benchPut },
    {
      title: 'Contention on one key',
      note: 'Compare-and-set: each writer loops `update()` (read, compute, `put` with `ifVersion`, retry on CONFLICT). Appends: each writer sends `patch` `add /items/-` without `ifVersion`.',
      run: async (ctx) => [...(await benchHotKey(ctx)), ...(await benchAppends(ctx))],
    },
    {
      title: 'Fan-out',
      note: "Events delivered per second to subscribers of one board (all `**`), written at 16 in flight (so events batch into frames), and once one write at a time (one event per frame); the subscribers live in the benchmark process, 20 of them timing each event from the write's send. Goals: ≥ 600k events/s to 1000 subscribers (2× etcd on this machine) with event p99 ≤ 100 ms; one write at a time, ≥ 80% of the bare broadcast.",
      run: async (ctx) => {
        const writes: Record<number, number> = { 100: 2_000, 1_000: 2_000, 5_000: 200 };
        const figures: Figure[] = [];
        for (const subscribers of ctx.plan.fanoutSubscribers) {
          const goal = subscribers === 1_000 ? '≥ 600k/s' : undefined;
          figures.push(...(await benchFanout({ url: ctx.url, subscribers, writes: ctx.plan.count(writes[subscribers] ?? 500), ...(goal ? { goal } : {}) })));
        }
        const single = Math.max(...ctx.plan.fanoutSubscribers.filter((n) => n <= 1_000));
        figures.push(...(await benchFanout({ url: ctx.url, subscribers: single, writes: ctx.plan.count(300), inFlight: 1, goal: '≥ 80% of bare broadcast' })));
        return figures;
      },
    },
    {
      title: 'One subscriber: what it costs the writes',
      note: "Writes at 16 in flight through one connection to a board with one subscriber (raw WebSocket in the benchmark process), until the subscriber has every event, against the same writes to a board nobody subscribes to; the two take turns in four rounds. The server's CPU time per write (from /proc) holds when other work on the machine makes the rates swing. Goal: ≥ 0.9.",
      run: async (ctx) =>
        benchFanoutToOne({ url: ctx.url, writes: ctx.plan.count(8_000), goal: '≥ 0.9', ...(ctx.serverPid ? { serverPid: ctx.serverPid } : {}) }),
    },
    {
      title: 'Light load: event latency',
      note: "Writes offered at 50/s (a timer, whatever the replies do) to a board with 1000 subscribers; every subscriber (a bare TCP socket that reads WebSocket frames and nothing more, all of them in a child process) times every event from the write's send (process.hrtime: a clock all processes on the machine share), so the first and the last subscriber of each round count alike. Baseline: a bare ws server broadcasting one frame per write, as it arrives, at the same rate to 1000 sockets; the two take turns. Goal: event p99 ≤ 1.5× the bare broadcast's and ≤ 20 ms.",
      run: async (ctx) => benchLightLoad(ctx, { subscribers: ctx.plan.quick ? 200 : 1_000, rate: 50, seconds: ctx.plan.quick ? 2 : 6 }),
    },
    {
      title: 'Fan-out over two nodes',
      note: 'A second server process on the same Redis; the subscribers are split evenly between the nodes, the writes go through the first.',
      run: async (ctx) => {
        const port = await freePort();
        const second = await spawnServer(port, ctx.serverEnv);
        try {
          return await benchFanoutNodes({
            one: ctx.url,
            two: [ctx.url, `http://127.0.0.1:${port}`],
            subscribers: ctx.plan.nodesSubscribers,
            writes: ctx.plan.count(200),
          });
        } finally {
          second.child.kill('SIGTERM');
          await second.exited;
        }
      },
    },
    {
      title: 'Second core (WORKERS=2)',
      note: 'The server started with WORKERS=2 (node:cluster: two full nodes sharing the listening socket, connections spread between them) beside the single process of the rest of the run. On this 2-core machine the benchmark process, the subscribers and Redis run on the same two cores, so the second worker competes with them; on a machine with cores to spare it pays more.',
      run: benchWorkers,
    },
    { title: 'Resume (replay with fromRev)', run: benchReplay },
    {
      title: 'Locks',
      note: 'Lock cycles (acquire + release of a lock nobody holds) beside plain Redlock on the same Redis, and beside two puts in a row through the server: the floor, since a cycle is two revisions (`$locks/<name>` written, then deleted). Redis commands per cycle are counted with MONITOR (untimed) over the whole Redis: everything the server does for the cycles. Goal: a cycle at 64 in flight ≥ 0.8 of two puts.',
      external: true,
      run: async (ctx) => (await import('./locks.js')).benchLocks({ url: ctx.url, redisUrl: ctx.redisUrl, scale: ctx.plan.scale }),
    },
    {
      title: 'Tasks',
      note: 'Tasks end to end (enqueue over one WebSocket, pushed to a remote worker on another, completed) beside a raw BullMQ Worker in the benchmark process at the same concurrency on the same Redis. Each side first runs an untimed quarter-size turn (connections, JIT), then the two take two timed turns each in alternation, each timed from the first enqueue to the last completion (connecting and registering the worker untimed). Redis commands per task counted with MONITOR (untimed), enqueue to completion. Goal: ≥ 0.4 of raw BullMQ.',
      external: true,
      run: async (ctx) =>
        (await import('./tasks.js')).benchTasks({
          url: ctx.url,
          redisUrl: ctx.redisUrl,
          scale: ctx.plan.scale,
          ...(ctx.serverPid ? { serverPid: ctx.serverPid } : {}),
        }),
    },
    {
      title: 'Latency against offered load',
      run: async (ctx) => {
        const sweep = await runSweep(ctx);
        const { subscribers } = ctx.plan.sweep;
        if (!ctx.plan.only) writeFileSync(CHART_PATH, latencyChart(sweep.points, { subscribers, capacity: sweep.capacity, goalMs: 100, goal: sweep.goal }));
        return {
          title: 'Latency against offered load',
          note: `${subscribers} subscribers of one board; writes offered open loop for ${ctx.plan.sweep.stepSeconds} s per rate; write admission (ADMISSION_LAG_MS=${ctx.serverEnv.ADMISSION_LAG_MS ?? '?'}, ADMISSION_MAX_COMMITS=${ctx.serverEnv.ADMISSION_MAX_COMMITS ?? '?'}, ADMISSION_BACKLOG_MS=${ctx.serverEnv.ADMISSION_BACKLOG_MS ?? '?'}: the defaults) refuses writes with RATE_LIMITED once the event loop or the oldest commit waiting for Redis lags that much, that many commits wait, or the oldest unsent event is that old. Goal: at twice the saturating load, ack p99 < 100 ms with the excess refused. Refusals by the per-connection in-flight bound (MAX_INFLIGHT_PER_CONNECTION) are counted apart from admission's. The last column is the event-loop delay of the process that offers the load and times it: when it is high, the timings include that process's own delay.`,
          figures: sweepFigures(sweep, subscribers),
          extra: `${sweepTable(sweep.points, sweep.goal)}\n\n![Latency against offered load](benchmark-latency.svg)`,
        };
      },
    },
    { title: 'Memory per idle connection', run: benchIdleMemory },
    { title: 'Hostile neighbour', external: true, run: async (ctx) => (await import('./hostile.js')).benchHostile(ctx) },
    {
      title: 'MCP tool calls and resource notifications',
      note: "One MCP client per transport calls `board_get` one call at a time: over Streamable HTTP (`/mcp` on the server's port; each session reaches the board through a WebSocket connection of its own to the node) and over stdio (`blackboard mcp`, a process of its own with one WebSocket connection to the server), taking turns in four rounds with a `get` through the SDK over the WebSocket. The MCP `ping` is the HTTP transport alone. Notifications: 100 HTTP sessions subscribed to one key (90 in a child process, 10 timed in the benchmark process), writes over the WebSocket one at a time, the next once the last one's notifications have come, each timed from its send to a session's `notifications/resources/updated`. Goals: a tool call ≤ 2× the WebSocket round trip; notification p99 ≤ 50 ms.",
      run: benchMcp,
    },
    { title: 'Python client', run: benchPython },
    {
      title: 'History and durable writes',
      note: 'On a private redis-server and a database of their own (bench/history.ts).',
      external: true,
      run: async (ctx) => (await import('./history.js')).benchHistory({ scale: ctx.plan.scale }),
    },
    {
      title: 'Search',
      note: "A board of 100,000 keys of ~1 KB generated prose (seeded through `txn`s of 500 puts), every tenth holding one of 1,000 made-up words followed by `harbour`. After `ANALYZE` of the index tables (which autovacuum does shortly after such a load), 200 queries of each kind, one at a time through the SDK (WebSocket round trip included): a made-up word, the phrase `\"<word> harbour\"`, and the word with two letters swapped (nothing matches as written, so the fuzzy fallback runs). Baseline: the same words looked for with `ILIKE '%word%'` over the same values (the board's rows of the events table) straight in Postgres, 10 queries. Index lag: puts offered at 1,000/s for 10 s, open loop, each timed from its ack until the board's watermark (the index is written in the same transaction) holds it. Searches refused with TIMEOUT (past `SEARCH_TIMEOUT_MS`, 2 s) are counted, not timed. Goals: exact and phrase p99 ≤ 20 ms, fuzzy p99 ≤ 50 ms, lag p99 ≤ 1 s, ≥ 50× faster than the scan. `BENCH_ONLY=search` runs this section alone.",
      run: async (ctx) => (await import('./search.js')).benchSearch(ctx),
    },
    {
      title: 'LangGraph checkpointer beside PostgresSaver',
      note: "BlackboardSaver (blackboard/langgraph) through the server, and @langchain/langgraph-checkpoint-postgres on the same Postgres (the server's database, a schema of its own), one request at a time, taking turns in four rounds. `put` extends a chain of checkpoints of a small agent state (three channels, two changing per step); `getTuple` reads the latest; the graph run is a real StateGraph of 100 supersteps with two parallel nodes. Goals: `getTuple` ≤ PostgresSaver, durable `put` ≤ 1.5× PostgresSaver. `BENCH_ONLY=langgraph` runs this section alone.",
      run: async (ctx) => (await import('./langgraph.js')).benchLangGraph(ctx),
    },
    {
      title: 'Beside etcd',
      run: async (ctx) => {
        const result = await benchEtcd(ctx);
        if (!result) {
          return {
            title: 'Beside etcd',
            figures: [],
            note: 'Not measured: `etcd` is not on PATH (on Debian: `apt-get install etcd-server`; the benchmark starts a private one).',
          };
        }
        return {
          title: 'Beside etcd',
          note: `A private etcd ${result.version} (one member) spoken to as its users do, through the \`etcd3\` npm client (gRPC): one client for the 64 loops (the server gets one SDK connection), 1000 watches spread over 10 gRPC connections, beside 1000 subscriptions spread over 10 WebSocket connections (100 on each, as an etcd client multiplexes its watches on one stream; the Fan-out section gives each subscriber a connection of its own); each side takes turns with the other. etcd runs first without fsync (data in /dev/shm, \`--unsafe-no-fsync\`), as the Redis behind the server keeps nothing on disk, then with fsync on the disk Postgres uses, beside \`durable\` puts (acknowledged once Postgres has committed them). Goals: put and compare-and-set ≥ 3× etcd, lock cycle ≥ 3× etcd's Lock, events to the subscribers ≥ 2× etcd with p99 ≤ 100 ms, durable put ≥ 1× etcd with fsync.`,
          figures: result.figures,
        };
      },
    },
  ];
}
