import { execFileSync } from 'node:child_process';
import { Socket } from 'node:net';

/** Tests talk to the real Redis and Postgres; start them with Docker when they are down and Docker is here. */

function reachable(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

function hostPort(url: string, fallbackPort: number): [string, number] {
  const u = new URL(url);
  return [u.hostname || '127.0.0.1', Number(u.port || fallbackPort)];
}

function dockerAvailable(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

export default async function setup(): Promise<void> {
  const services = [
    { name: 'Redis', service: 'redis', addr: hostPort(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 6379) },
    { name: 'Postgres', service: 'postgres', addr: hostPort(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432', 5432) },
  ];
  const missing = [];
  for (const s of services) if (!(await reachable(...s.addr))) missing.push(s);
  if (missing.length === 0) return;
  if (!dockerAvailable()) {
    throw new Error(
      `not reachable: ${missing.map((s) => `${s.name} at ${s.addr.join(':')}`).join(', ')} — start them or install Docker (docker compose up -d)`,
    );
  }
  execFileSync('docker', ['compose', 'up', '-d', ...missing.map((s) => s.service)], { stdio: 'inherit' });
  const deadline = Date.now() + 60_000;
  for (const s of missing) {
    while (!(await reachable(...s.addr))) {
      if (Date.now() > deadline) throw new Error(`${s.name} did not come up at ${s.addr.join(':')}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
