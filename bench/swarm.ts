import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface SwarmReport {
  closed: number;
  frames: number;
  /** With `timed`: ms from each event's send to its arrival, at every socket, since the last report. */
  latencies?: number[];
}

export interface Swarm {
  report(): Promise<SwarmReport>;
  stop(): Promise<void>;
}

/** `count` subscribers of `board` in a child process (bench/subscriber-swarm.ts); resolves once all are subscribed. */
export async function startSwarm(url: string, board: string, count: number, timed = false): Promise<Swarm> {
  const args = ['--import', 'tsx', 'bench/subscriber-swarm.ts', url, board, String(count), ...(timed ? ['timed'] : [])];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', r));
  const lines = createInterface({ input: child.stdout!, crlfDelay: Infinity });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`subscriber swarm exited with ${code}`));
      child.once('exit', onExit);
      lines.once('line', (line) => {
        child.off('exit', onExit);
        resolve(line);
      });
    });
  const stop = async () => {
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const ready = await next().catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  if (ready !== 'ready') {
    await stop();
    throw new Error(`subscriber swarm said ${ready}`);
  }
  return {
    async report() {
      const answer = next();
      child.stdin!.write('report\n');
      return JSON.parse(await answer) as SwarmReport;
    },
    stop,
  };
}
