import { readFileSync } from 'node:fs';
import type { WebSocket } from 'ws';
import { freePort, spawnServer } from '../test/helpers/process-server.js';
import { benchBoard } from './boards.js';
import type { BenchContext } from './context.js';
import { startBareServer } from './fanout.js';
import { closeAll, openAll, subscribeAll, wsUrl } from './sockets.js';
import { round, type Figure } from './stats.js';

/** Resident set size of a process in KiB, from /proc/<pid>/status. */
export function rssKiB(pid: number): number {
  const line = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line) throw new Error(`no VmRSS for process ${pid}`);
  return Number(line[1]);
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS growth of `pid` while `n` connections are opened (after a warm-up that loads the code paths). */
async function growth(pid: number, urls: (n: number) => string[], n: number, subscribe?: (sockets: WebSocket[]) => Promise<unknown>): Promise<number> {
  const warm = await openAll(urls(50));
  await subscribe?.(warm);
  closeAll(warm);
  await settle(1_500);
  const before = rssKiB(pid);
  const sockets = await openAll(urls(n));
  try {
    await subscribe?.(sockets);
    await settle(2_000);
    return (rssKiB(pid) - before) / n;
  } finally {
    closeAll(sockets);
  }
}

/**
 * Memory per idle connection: a fresh server process, N connections each with one
 * subscription (spread over 10 boards), RSS read from /proc before and after; beside a bare
 * `ws` server process holding the same number of idle connections.
 */
export async function benchIdleMemory(ctx: BenchContext): Promise<Figure[]> {
  const n = ctx.plan.idleConnections;
  const boards = Array.from({ length: 10 }, () => benchBoard('idle'));
  const port = await freePort();
  const server = await spawnServer(port, ctx.serverEnv);
  let perConnection: number;
  try {
    const url = wsUrl(`http://127.0.0.1:${port}`);
    perConnection = await growth(
      server.child.pid!,
      (k) => Array.from({ length: k }, () => url),
      n,
      (sockets) => subscribeAll(sockets, (i) => boards[i % boards.length]!),
    );
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  const bare = await startBareServer();
  let barePerConnection: number;
  try {
    barePerConnection = await growth(bare.pid, (k) => Array.from({ length: k }, () => `ws://127.0.0.1:${bare.port}/`), n);
  } finally {
    await bare.stop();
  }
  return [
    {
      name: `RSS per idle connection with one subscription (${n} connections)`,
      value: round(perConnection, 1),
      unit: 'KiB',
      baseline: round(barePerConnection, 1),
      baselineName: 'bare ws server process, idle connections',
      ratio: round(barePerConnection / perConnection, 3),
      goal: '≤ 64 KiB',
    },
  ];
}
