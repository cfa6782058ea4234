import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { benchBoard } from './boards.js';
import { connectClient, type BenchContext } from './context.js';
import { percentile, round, runConcurrent, type Figure } from './stats.js';

/**
 * MCP beside the WebSocket. Tool-call round trips (`board_get`, one at a time) over
 * Streamable HTTP and over stdio (`blackboard mcp`, a process of its own speaking to the
 * server over one WebSocket) against a `get` over the WebSocket, the three taking turns in
 * four rounds; an MCP `ping` over HTTP shows what the transport costs before any tool runs.
 * Then the delay from a write (sent over the WebSocket) to `notifications/resources/updated`
 * with 100 HTTP sessions subscribed to the key: 10 in this process, timed, and 90 in a
 * child process, so that receiving does not slow the process that writes and times.
 */

const WATCHERS = 100;
const TIMED = 10;

/** Sessions subscribed to `uri` in a child process; resolves once they are. */
async function startWatchers(url: string, board: string, count: number, uri: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/mcp-watchers.ts', url, board, String(count), uri], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  const lines = createInterface({ input: child.stdout });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`MCP watchers exited with ${code}`));
      child.once('exit', onExit);
      lines.once('line', (line) => {
        child.off('exit', onExit);
        resolve(line);
      });
    });
  if ((await next()) !== 'ready') throw new Error('MCP watchers did not start');
  return {
    async received(): Promise<number> {
      const answer = next();
      child.stdin.write('report\n');
      return (JSON.parse(await answer) as { received: number }).received;
    },
    async stop(): Promise<void> {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function httpClient(url: string, board: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`/mcp?board=${board}`, url));
  await client.connect(transport);
  return { client, transport };
}

function latencyFigures(label: string, latencies: number[], baseline: number[], baselineName: string, goal?: string): Figure[] {
  const [p50, p99, b50, b99] = [percentile(latencies, 50), percentile(latencies, 99), percentile(baseline, 50), percentile(baseline, 99)];
  return [
    {
      name: `${label} p50`,
      value: round(p50, 3),
      unit: 'ms',
      baseline: round(b50, 3),
      baselineName,
      ratio: round(b50 / p50, 3),
      ...(goal ? { goal } : {}),
    },
    { name: `${label} p99`, value: round(p99, 3), unit: 'ms', baseline: round(b99, 3), baselineName, ratio: round(b99 / p99, 3) },
  ];
}

export async function benchMcp(ctx: BenchContext): Promise<Figure[]> {
  const board = benchBoard('mcp');
  const ws = await connectClient(ctx.url);
  const http = await httpClient(ctx.url, board);
  const stdio = new Client({ name: 'bench', version: '1.0.0' });
  await stdio.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: ['--import', 'tsx', 'client/cli/main.ts', 'mcp', '--url', ctx.url.replace(/^http/, 'ws'), '--board', board],
      cwd: process.cwd(),
      stderr: 'inherit',
    }),
  );
  const watchers: Array<{ client: Client; transport: StreamableHTTPClientTransport }> = [];
  let swarm: Awaited<ReturnType<typeof startWatchers>> | null = null;
  try {
    await ws.put(board, 'plan', { step: 1, owner: 'planner', notes: 'a small agent state value' });
    const get = { name: 'board_get', arguments: { key: 'plan' } };
    const paths = {
      ws: () => ws.get(board, 'plan'),
      http: () => http.client.callTool(get),
      stdio: () => stdio.callTool(get),
      ping: () => http.client.ping(),
    } as const;
    for (const run of Object.values(paths)) await runConcurrent(ctx.plan.count(300), 1, run);
    const total = ctx.plan.count(2_000);
    const rounds = 4;
    const times: Record<keyof typeof paths, number[]> = { ws: [], http: [], stdio: [], ping: [] };
    for (let r = 0; r < rounds; r++) {
      for (const [name, run] of Object.entries(paths) as Array<[keyof typeof paths, () => Promise<unknown>]>) {
        times[name].push(...(await runConcurrent(Math.max(1, Math.round(total / rounds)), 1, run)).latencies);
      }
    }
    for (const list of Object.values(times)) list.sort((a, b) => a - b);
    const wsName = 'get over the WebSocket (SDK)';
    const figures: Figure[] = [
      ...latencyFigures('tool call board_get, Streamable HTTP', times.http, times.ws, wsName, '≤ 2× the WebSocket (ratio ≥ 0.5)'),
      ...latencyFigures('tool call board_get, stdio', times.stdio, times.ws, wsName, '≤ 2× the WebSocket (ratio ≥ 0.5)'),
      ...latencyFigures('MCP ping, Streamable HTTP (no tool)', times.ping, times.ws, wsName),
    ];

    // 100 sessions subscribed to one key; each write is timed to the timed sessions' notifications.
    const uri = `blackboard://${board}/plan`;
    swarm = await startWatchers(ctx.url, board, WATCHERS - TIMED, uri);
    for (let i = 0; i < TIMED; i++) watchers.push(await httpClient(ctx.url, board));
    const sentAt = new Map<number, number>();
    // A notification may arrive before the write's own reply names its revision: matched afterwards.
    const arrivals: Array<[number, number]> = [];
    for (const w of watchers) {
      w.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
        arrivals.push([(n.params._meta as { rev?: number } | undefined)?.rev ?? -1, performance.now()]);
      });
      await w.client.subscribeResource({ uri });
    }
    // Every session has its notification stream open before the timed writes.
    await new Promise((r) => setTimeout(r, 1_000));
    // One write at a time: the next goes once the timed sessions have the last one's
    // notification (or after a second), so each delay is one write's fan-out to 100 sessions,
    // not a queue behind earlier ones.
    const writes = ctx.plan.count(200);
    for (let i = 0; i < writes; i++) {
      const t0 = performance.now();
      const { rev } = await ws.put(board, 'plan', { step: i });
      sentAt.set(rev, t0);
      const until = Date.now() + 1_000;
      while (arrivals.filter(([r]) => r === rev).length < TIMED && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, 10));
    }
    const deadline = Date.now() + 30_000;
    const timed = () => arrivals.filter(([rev]) => sentAt.has(rev));
    while (timed().length < writes * TIMED && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const delays = timed()
      .map(([rev, at]) => at - sentAt.get(rev)!)
      .sort((a, b) => a - b);
    const received = delays.length + (await swarm.received());
    figures.push(
      { name: `write → resources/updated p50, ${WATCHERS} sessions subscribed`, value: round(percentile(delays, 50), 2), unit: 'ms' },
      {
        name: `write → resources/updated p99, ${WATCHERS} sessions subscribed`,
        value: round(percentile(delays, 99), 2),
        unit: 'ms',
        goal: '≤ 50 ms',
      },
      {
        name: 'notifications received',
        value: received,
        unit: '',
        baseline: writes * WATCHERS,
        baselineName: 'writes × sessions',
        ratio: round(received / (writes * WATCHERS), 3),
      },
    );
    return figures;
  } finally {
    ws.close();
    for (const w of [http, ...watchers]) {
      await w.transport.terminateSession().catch(() => undefined);
      await w.client.close().catch(() => undefined);
    }
    await stdio.close().catch(() => undefined);
    await swarm?.stop();
  }
}
