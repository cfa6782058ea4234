import { connect } from 'node:net';

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
 * speed of the machine. It counts every client's commands, so the figure holds on a Redis
 * nothing else uses (the run's private one). MONITOR slows Redis down, so time nothing
 * while it counts. A plain
 * socket reads MONITOR's lines (one per command; values are quoted, so no line breaks).
 */
export async function countRedisCalls(redisUrl: string, work: () => Promise<unknown>): Promise<RedisCalls> {
  const url = new URL(redisUrl);
  const socket = connect(Number(url.port || 6379), url.hostname);
  const counts = { calls: 0, scripts: 0, inScripts: 0 };
  const names = new Map<string, number>();
  let rest = '';
  let started: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (started = resolve));
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\r\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '+OK') {
        started();
        continue;
      }
      const match = /^\+\d+\.\d+ \[\d+ ([^\]]*)\] "([^"]*)"/.exec(line);
      if (!match) continue;
      if (match[1] === 'lua') {
        counts.inScripts++;
        continue;
      }
      const name = match[2]!.toLowerCase();
      counts.calls++;
      if (name === 'eval' || name === 'evalsha' || name === 'fcall') counts.scripts++;
      names.set(name, (names.get(name) ?? 0) + 1);
    }
  });
  socket.on('error', () => undefined);
  const auth = url.password ? `AUTH ${decodeURIComponent(url.username || 'default')} ${decodeURIComponent(url.password)}\r\n` : '';
  socket.write(`${auth}MONITOR\r\n`);
  await ready;
  try {
    await work();
    // MONITOR's last lines may trail the replies.
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    socket.destroy();
  }
  return { ...counts, byName: [...names].sort((a, b) => b[1] - a[1]) };
}
