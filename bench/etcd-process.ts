import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../test/helpers/process-server.js';

/** The `etcd` binary on PATH, or null. */
export function findEtcd(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'etcd');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export interface EtcdProcess {
  /** http://127.0.0.1:<client port>: gRPC clients connect here (the JSON gateway is at /v3/...). */
  url: string;
  version: string;
  stop(): Promise<void>;
}

/**
 * A private single-member etcd on spare loopback ports, its data in a temporary directory,
 * removed on stop. Without `fsync` it runs as the Redis it is compared with does, keeping
 * nothing it must wait for on disk: data in /dev/shm and `--unsafe-no-fsync` (etcd 3.4.10+).
 * With `fsync` its data lives on the disk of the temporary directory (where Postgres's is
 * on this machine) and every commit waits for fsync, as etcd runs by default.
 */
export async function startEtcd(binary: string, options: { fsync: boolean }): Promise<EtcdProcess> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const memory = !options.fsync && existsSync('/dev/shm');
  const dir = mkdtempSync(join(memory ? '/dev/shm' : tmpdir(), 'bench-etcd-'));
  const peer = `http://127.0.0.1:${peerPort}`;
  const url = `http://127.0.0.1:${clientPort}`;
  const child = spawn(
    binary,
    [
      '--name',
      'bench',
      '--data-dir',
      join(dir, 'data'),
      '--listen-client-urls',
      url,
      '--advertise-client-urls',
      url,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `bench=${peer}`,
      '--log-level',
      'error',
      ...(options.fsync ? [] : ['--unsafe-no-fsync']),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4_000)));
  const exited = new Promise((r) => child.once('exit', r));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/version`);
      if (res.ok) {
        const body = (await res.json()) as { etcdserver?: string };
        // The gateway answers before the member has a leader; a put proves it serves writes.
        const put = await fetch(`${url}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: btoa('ready'), value: btoa('1') }) });
        if (put.ok) return { url, version: body.etcdserver ?? 'unknown', stop };
      }
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`etcd did not start: ${output.trim().split('\n').slice(-3).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
