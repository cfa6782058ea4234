import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A free TCP port on loopback (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  output(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

/** Starts `server/main.ts` as a real child process and waits until /healthz answers. */
export async function spawnServer(port: number, env: Record<string, string> = {}, timeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: process.cwd(),
    // As in startTestServer: no load shedding unless asked, history only with the test's own database.
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      ADMISSION_LAG_MS: '0',
      ADMISSION_BACKLOG_MS: '0',
      ADMISSION_MAX_COMMITS: '0',
      HISTORY_ENABLED: env.DATABASE_URL ? 'true' : 'false',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early: ${output}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, port, output: () => output, exited };
}

/** Stops a process started by spawnServer (SIGTERM; SIGKILL if it has not exited within `killAfterMs`). */
export async function stopServer(proc: ServerProcess | undefined, killAfterMs = 5_000): Promise<void> {
  if (!proc || proc.child.exitCode !== null) return;
  proc.child.kill('SIGTERM');
  const killer = setTimeout(() => proc.child.kill('SIGKILL'), killAfterMs);
  await proc.exited;
  clearTimeout(killer);
}
