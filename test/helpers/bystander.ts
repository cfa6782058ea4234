import { readFileSync } from 'node:fs';
import type { RawSocket } from './raw-socket.js';

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

/** How long one request of `socket` takes to be answered (ms), and its reply. */
export async function timed(socket: RawSocket, op: string, args: Record<string, unknown>): Promise<{ ms: number; reply: Record<string, unknown> }> {
  const started = performance.now();
  const reply = await socket.call(op, args);
  return { ms: performance.now() - started, reply };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export function errorCode(reply: Record<string, unknown>): string | undefined {
  return (reply.error as { code?: string } | undefined)?.code;
}
