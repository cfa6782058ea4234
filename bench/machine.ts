import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/**
 * How busy the machine was with work other than the benchmark. The load average counts the
 * benchmark's own processes too, so the run also reads the CPU time of the whole machine
 * (/proc/stat) and of its own process tree (/proc/self/stat, children included once they
 * have exited), and reports the share of the machine the rest used while it ran.
 */
export interface CpuMark {
  machineBusy: number;
  machineTotal: number;
  own: number;
  load: number;
}

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

function ownTicks(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // Fields after the command name (which may hold spaces) start at "state" (field 3).
  const rest = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  // utime, stime, cutime, cstime are fields 14..17, i.e. rest[11..14].
  return (rest[11] ?? 0) + (rest[12] ?? 0) + (rest[13] ?? 0) + (rest[14] ?? 0);
}

export function cpuMark(): CpuMark {
  try {
    const machine = machineTicks();
    return { machineBusy: machine.busy, machineTotal: machine.total, own: ownTicks(), load: loadavg()[0] ?? 0 };
  } catch {
    return { machineBusy: 0, machineTotal: 0, own: 0, load: loadavg()[0] ?? 0 };
  }
}

/** Share (0..1) of the machine's CPU capacity used by other processes between two marks; null when unknown. */
export function otherShare(start: CpuMark, end: CpuMark): number | null {
  const total = end.machineTotal - start.machineTotal;
  if (total <= 0) return null;
  const others = end.machineBusy - start.machineBusy - (end.own - start.own);
  return Math.max(0, others / total);
}

/** CPU time (ms) a process has used so far, from /proc/<pid>/stat; 0 when it is gone or unreadable. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return ((rest[11] ?? 0) + (rest[12] ?? 0)) * 10;
  } catch {
    return 0;
  }
}

/**
 * CPU time (ms) spent by this process and by the processes `pids()` names (read before and
 * after: ones that start meanwhile count from zero) while `work` runs. A figure that holds on
 * a machine shared with other work, where rates and latencies do not.
 */
export async function cpuSpent<T>(pids: () => Promise<number[]>, work: () => Promise<T>): Promise<{ result: T; cpuMs: number }> {
  const before = new Map((await pids()).map((pid) => [pid, processCpuMs(pid)]));
  const own = process.cpuUsage();
  const result = await work();
  const used = process.cpuUsage(own);
  let cpuMs = (used.user + used.system) / 1000;
  for (const pid of await pids()) cpuMs += processCpuMs(pid) - (before.get(pid) ?? 0);
  return { result, cpuMs };
}
