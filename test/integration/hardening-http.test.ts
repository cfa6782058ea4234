import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnServer, stopServer, type ServerProcess } from '../helpers/process-server.js';
import { getRequest, rawHttpStatus, upgradeRequest } from '../helpers/raw-http.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startTestServer, waitFor } from '../helpers/server.js';

/** Request-targets that once threw inside the upgrade handler, or that no client would send. */
const MALFORMED_TARGETS = ['//', '/%zz', `/${'a'.repeat(10 * 1024)}`, '//evil.example/v1/ws', '/v1/ws/%', '*', 'http://x'];

/** Every status answered to the malformed requests, by request. */
async function sendMalformed(port: number): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  for (const target of MALFORMED_TARGETS) {
    statuses[`upgrade ${target.slice(0, 24)}`] = await rawHttpStatus(port, upgradeRequest(target));
    statuses[`get ${target.slice(0, 24)}`] = await rawHttpStatus(port, getRequest(target));
  }
  statuses['garbage request line'] = await rawHttpStatus(port, 'NOT A REQUEST\r\n\r\n');
  statuses['request line without a version'] = await rawHttpStatus(port, 'GET /v1/ws\r\n\r\n');
  return statuses;
}

function expectAll4xx(statuses: Record<string, number>): void {
  const wrong = Object.entries(statuses).filter(([, status]) => status < 400 || status > 499);
  expect(wrong).toEqual([]);
}

/** The pids of a process's children (the cluster's workers). */
function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(Number);
  } catch {
    return [];
  }
}

describe('malformed HTTP against one process', () => {
  let proc: ServerProcess;
  beforeAll(async () => {
    proc = await spawnServer(await freePort(), { HISTORY_ENABLED: 'false' });
  });
  afterAll(() => stopServer(proc));

  it('any malformed request line or path gets a 4xx and never affects other connections', async () => {
    const board = randomBoard('hh');
    const bystander = await RawSocket.open(`ws://127.0.0.1:${proc.port}/v1/ws`);
    expect((await bystander.call('put', { board, key: 'k', value: 1 })).ok).toBe(true);

    expectAll4xx(await sendMalformed(proc.port));

    expect(proc.child.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${proc.port}/healthz`)).status).toBe(200);
    const after = await bystander.call('get', { board, key: 'k' });
    expect((after.result as { value: number }).value).toBe(1);
    expect(bystander.closeCode).toBeNull();
    bystander.close();
  });
});

describe('malformed HTTP against a cluster (WORKERS=2)', () => {
  let proc: ServerProcess;
  beforeAll(async () => {
    proc = await spawnServer(await freePort(), { HISTORY_ENABLED: 'false', WORKERS: '2' });
    await waitFor(() => childPids(proc.child.pid!).length === 2, 30_000, 'two workers');
  });
  afterAll(() => stopServer(proc));

  it('malformed upgrades get a 4xx from every worker, and the cluster keeps both workers serving', async () => {
    const before = childPids(proc.child.pid!).sort();
    // Connections are spread over the workers in turn: repeat so both see each request.
    for (let round = 0; round < 3; round++) expectAll4xx(await sendMalformed(proc.port));
    expect(proc.child.exitCode).toBeNull();
    expect(childPids(proc.child.pid!).sort()).toEqual(before);
    for (let i = 0; i < 10; i++) expect((await fetch(`http://127.0.0.1:${proc.port}/healthz`)).status).toBe(200);
  });

  it('the primary replaces a worker that died after it had started', async () => {
    const [victim, ...others] = childPids(proc.child.pid!);
    expect(victim).toBeDefined();
    process.kill(victim!, 'SIGKILL');
    await waitFor(
      () => {
        const now = childPids(proc.child.pid!);
        return now.length === 2 && !now.includes(victim!) && others.every((pid) => now.includes(pid));
      },
      30_000,
      'a replacement worker',
    );
    expect(proc.child.exitCode).toBeNull();
    // The replacement serves: every connection of a few rounds is answered.
    await waitFor(async () => (await fetch(`http://127.0.0.1:${proc.port}/healthz`)).status === 200, 30_000, 'healthz');
    for (let i = 0; i < 10; i++) expect((await fetch(`http://127.0.0.1:${proc.port}/healthz`)).status).toBe(200);
  });
});

describe('shutdown', () => {
  it('an upgrade refused because the node is shutting down is 503', async () => {
    // The credential check of one upgrade is still running when shutdown begins.
    let checking: () => void = () => undefined;
    let release: () => void = () => undefined;
    const checkStarted = new Promise<void>((resolve) => (checking = resolve));
    const authenticator = {
      async authenticate() {
        checking();
        await new Promise<void>((resolve) => (release = resolve));
        return { agentId: 'late', scopes: null, expiresAt: null };
      },
    };
    const server = await startTestServer({ authenticator });
    const status = rawHttpStatus(server.port, upgradeRequest('/v1/ws'));
    await checkStarted;
    const stopping = server.stop();
    release();
    expect(await status).toBe(503);
    await stopping;
  });
});
