import { Redis } from 'ioredis';

export interface RedisCalls {
  /** Commands sent to Redis by its clients (each a request; pipelined ones count one each). */
  calls: number;
  /** Of those, script calls (EVAL, EVALSHA, FCALL). */
  scripts: number;
  /** Commands run inside scripts. */
  inScripts: number;
  /** Client-sent commands by name, most frequent first. */
  byName: Array<[string, number]>;
}

/**
 * Counts the commands Redis receives while `work` runs, through MONITOR (which marks the
 * commands run inside a script `[… lua]`): what one operation costs Redis, whatever the
 * speed of the machine. MONITOR slows Redis down, so time nothing while it counts.
 */
export async function countRedisCalls(redisUrl: string, work: () => Promise<unknown>): Promise<RedisCalls> {
  const watcher = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const monitor = await watcher.monitor();
  const counts = { calls: 0, scripts: 0, inScripts: 0 };
  const names = new Map<string, number>();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (/lua/.test(source)) {
      counts.inScripts++;
      return;
    }
    const name = String(args[0] ?? '').toLowerCase();
    counts.calls++;
    if (name === 'eval' || name === 'evalsha' || name === 'fcall') counts.scripts++;
    names.set(name, (names.get(name) ?? 0) + 1);
  });
  // MONITOR takes effect at once, but its first lines may trail; settle before and after.
  await new Promise((r) => setTimeout(r, 50));
  try {
    await work();
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    monitor.disconnect();
    watcher.disconnect();
  }
  return { ...counts, byName: [...names].sort((a, b) => b[1] - a[1]) };
}
