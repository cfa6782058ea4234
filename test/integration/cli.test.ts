import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BlackboardError, ErrorCode, type BlackboardClient, type BoardEvent } from '../../client/sdk/index.js';
import type { Session } from '../../server/gateway/session.js';
import { ExitCode } from '../../client/cli/exit-codes.js';
import { freePort } from '../helpers/process-server.js';
import { randomBoard, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

const CLI = ['--import', 'tsx', 'client/cli/main.ts'];

/** The CLI as a real process, with its output split into lines as they come. */
class CliProcess {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number>;
  private readonly child: ChildProcess;

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [...CLI, ...args], {
      cwd: process.cwd(),
      env: { ...process.env, BLACKBOARD_TOKEN: '', JWT_SECRET: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const split = (into: string[]) => {
      let partial = '';
      return (chunk: Buffer) => {
        const parts = (partial + chunk.toString()).split('\n');
        partial = parts.pop()!;
        into.push(...parts);
      };
    };
    this.child.stdout!.on('data', split(this.stdout));
    this.child.stderr!.on('data', split(this.stderr));
    this.exited = new Promise((resolve) => this.child.once('close', (code, signal) => resolve(code ?? (signal ? -1 : 0))));
  }

  async line(stream: 'stdout' | 'stderr', match: (line: string) => boolean, timeoutMs = 20_000): Promise<string> {
    let found: string | undefined;
    await waitFor(() => (found = this[stream].find(match)) !== undefined, timeoutMs, `a ${stream} line; got ${this[stream].join(' | ')}`);
    return found!;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.child.kill(signal);
  }
}

let server: TestServer;
let client: BlackboardClient;

function cli(...args: string[]): CliProcess {
  return new CliProcess(args, { BLACKBOARD_URL: server.wsUrl });
}

async function run(...args: string[]): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const p = cli(...args);
  const code = await p.exited;
  return { code, stdout: p.stdout, stderr: p.stderr };
}

/** True when the server handles `op` (another part of the server may not be there yet). */
async function serverAnswers(op: 'lock.acquire' | 'task.get'): Promise<boolean> {
  const board = randomBoard('probe');
  const args = op === 'lock.acquire' ? { board, name: 'probe', ttlMs: 1_000 } : { board, taskId: 'probe' };
  return client.request(op, args).then(
    () => true,
    (err: BlackboardError) => err.code !== ErrorCode.BAD_REQUEST,
  );
}

beforeAll(async () => {
  server = await startTestServer();
  client = await server.client();
});
afterAll(async () => {
  await server?.stop();
});

// Each command is a fresh Node process (about a second or two on a loaded machine).
describe('blackboard CLI', { timeout: 180_000 }, () => {
  it('put, get, del with --if-version conflicts, and exit codes that mean something', async () => {
    const board = randomBoard();
    const first = await run('put', board, 'k', '{"n":1}', '--json');
    expect(first.code).toBe(ExitCode.OK);
    expect(JSON.parse(first.stdout[0]!)).toEqual({ version: 1, rev: 1 });

    const second = await run('put', board, 'k', '{"n":2}', '--if-version', '1');
    const [stale, staleJson, missing, badValue, unknown] = await Promise.all([
      run('put', board, 'other', '3', '--if-version', '1'),
      run('--json', 'put', board, 'k', '3', '--if-version', '7'),
      run('get', board, 'nope'),
      run('put', board, 'k', 'not json'),
      run('frobnicate'),
    ]);
    expect(second.code).toBe(ExitCode.OK);
    expect(second.stdout[0]).toBe('k: version 2 at rev 2');
    expect(stale.code).toBe(ExitCode.CONFLICT);
    expect(stale.stderr.join('\n')).toContain('CONFLICT');
    expect(staleJson.code).toBe(ExitCode.CONFLICT);
    const error = JSON.parse(staleJson.stderr[0]!) as { error: { code: string; details: { current: { version: number } } } };
    expect(error.error.code).toBe('CONFLICT');
    expect(error.error.details.current.version).toBe(2);
    expect(missing.code).toBe(ExitCode.NOT_FOUND);
    expect(badValue.code).toBe(ExitCode.USAGE);
    expect(unknown.code).toBe(ExitCode.USAGE);

    const [got, human] = await Promise.all([run('get', board, 'k', '--json'), run('get', board, 'k')]);
    expect(got.code).toBe(ExitCode.OK);
    expect(JSON.parse(got.stdout[0]!)).toMatchObject({ key: 'k', value: { n: 2 }, version: 2, modRev: 2 });
    expect(human.stdout.join('\n')).toContain('"n": 2');

    expect((await run('del', board, 'k', '--if-version', '5')).code).toBe(ExitCode.CONFLICT);
    expect((await run('del', board, 'k')).code).toBe(ExitCode.OK);
    expect((await run('get', board, 'k')).code).toBe(ExitCode.NOT_FOUND);
    const text = await run('put', board, 'greeting', 'hello world', '--string', '--json');
    expect(text.code).toBe(ExitCode.OK);
    expect(await client.value(board, 'greeting')).toBe('hello world');
  });

  it('exits 5 when the server cannot be reached, within --timeout', async () => {
    const port = await freePort();
    const started = Date.now();
    const result = await run('--url', `ws://127.0.0.1:${port}`, '--timeout', '700', 'get', 'b', 'k');
    expect(result.code).toBe(ExitCode.UNAVAILABLE);
    expect(result.stderr.join('\n')).toContain('UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('watch prints a change made by another process, and resumes after its connection drops', async () => {
    const board = randomBoard();
    const agent = `watcher-${board}`;
    await client.put(board, 'before', 0);
    const watch = cli('watch', board, 'k/**', '--json', '--agent', agent);
    const status = JSON.parse(await watch.line('stderr', (l) => l.includes('"watching"'))) as { fromRev: number };
    expect(status.fromRev).toBe(2);

    expect((await run('put', board, 'k/1', '{"a":1}')).code).toBe(ExitCode.OK);
    await client.put(board, 'ignored', 1);
    const first = JSON.parse(await watch.line('stdout', (l) => l.includes('"k/1"'))) as BoardEvent;
    expect(first).toMatchObject({ key: 'k/1', type: 'put', value: { a: 1 }, version: 1, rev: 2 });

    // Cut the watcher's connection on the server side; what is written meanwhile still arrives.
    const session = [...server.services.sessions].find((s) => s.agentId === agent);
    expect(session).toBeDefined();
    (session as Session).ws.terminate();
    await client.put(board, 'k/2', { a: 2 });
    await client.delete(board, 'k/1');
    await watch.line('stdout', (l) => l.includes('"delete"'));
    const events = watch.stdout.map((l) => JSON.parse(l) as BoardEvent);
    expect(events.map((e) => [e.rev, e.key, e.type])).toEqual([
      [2, 'k/1', 'put'],
      [4, 'k/2', 'put'],
      [5, 'k/1', 'delete'],
    ]);
    watch.kill('SIGTERM');
    expect(await watch.exited).toBe(ExitCode.OK);
  });

  it('watch --count stops after that many events, and --from-rev replays', async () => {
    const board = randomBoard();
    for (let i = 1; i <= 3; i++) await client.put(board, `k${i}`, i);
    const result = await run('watch', board, '--from-rev', '2', '--count', '2', '--json');
    expect(result.code).toBe(ExitCode.OK);
    expect(result.stdout.map((l) => (JSON.parse(l) as BoardEvent).key)).toEqual(['k2', 'k3']);
  });

  it('history prints events oldest first; --all pages through revisions split across pages', async () => {
    const board = randomBoard();
    for (let i = 0; i < 5; i++) await client.put(board, `k${i}`, i);
    // One revision with three events, which a page of four cuts in the middle.
    await client.txn(board, { compare: [], ops: [0, 1, 2].map((i) => ({ op: 'put' as const, key: `t${i}`, value: i })) });
    for (let i = 5; i < 9; i++) await client.put(board, `k${i}`, i);
    const expected = (await client.history(board)).events;
    expect(expected).toHaveLength(12);

    const [limited, all, human] = await Promise.all([
      run('history', board, '--limit', '4', '--json'),
      run('history', board, '--all', '--limit', '4', '--json'),
      run('history', board),
    ]);
    expect(limited.code).toBe(ExitCode.OK);
    expect(limited.stdout.map((l) => JSON.parse(l) as BoardEvent)).toEqual(expected.slice(0, 4));
    expect(all.code).toBe(ExitCode.OK);
    expect(all.stdout.map((l) => JSON.parse(l) as BoardEvent)).toEqual(expected);
    expect(human.stdout).toHaveLength(12);
    expect(human.stdout[0]).toMatch(/^rev 1 {2}put {2}k0 {2}v1 {2}\S+ {2}\d{4}-\d\d-\d\dT.* {2}0$/);
  });

  it('ls lists keys under a prefix and boards lists the board', async () => {
    const board = randomBoard();
    for (const key of ['a/1', 'a/2', 'b/1']) await client.put(board, key, { key });
    const [ls, lsJson, boards] = await Promise.all([run('ls', board, 'a/'), run('ls', board, '--json', '--limit', '2'), run('boards', board, '--json')]);
    expect(ls.code).toBe(ExitCode.OK);
    expect(ls.stdout[0]).toMatch(/^KEY +VERSION +MODREV +VALUE$/);
    expect(ls.stdout.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['a/1', 'a/2']);
    const listed = JSON.parse(lsJson.stdout[0]!) as { items: Array<{ key: string }>; more: boolean };
    expect(listed.items.map((i) => i.key)).toEqual(['a/1', 'a/2']);
    expect(listed.more).toBe(true);
    expect(JSON.parse(boards.stdout[0]!)).toMatchObject({ boards: [{ board, rev: 3 }] });
  });

  it('token mints an HS256 JWT with sub, scope and exp; no secret is a usage error', async () => {
    const secret = 'a-development-secret-of-some-length';
    const minted = await run('token', '--sub', 'alice', '--scope', 'read:*', '--scope', 'write:team-*', '--ttl', '15m', '--secret', secret);
    expect(minted.code).toBe(ExitCode.OK);
    const { payload, protectedHeader } = await jwtVerify(minted.stdout[0]!, new TextEncoder().encode(secret));
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload.sub).toBe('alice');
    expect(payload.scope).toBe('read:* write:team-*');
    expect(payload.exp! - payload.iat!).toBe(15 * 60);
    expect((await run('token', '--sub', 'alice')).code).toBe(ExitCode.USAGE);
    expect((await run('token', '--sub', 'alice', '--secret', 's', '--ttl', 'soon')).code).toBe(ExitCode.USAGE);
  });

  it('with AUTH_MODE=jwt, a minted token works, a wrong one exits 6 at once, a missing scope exits 6', async () => {
    const secret = 'cli-test-secret-0123456789abcdefghijklmnop';
    await using secured = await startTestServer({ env: { AUTH_MODE: 'jwt', JWT_SECRET: secret } });
    const board = randomBoard();
    const mint = async (...scopes: string[]) => {
      const minted = await run('token', '--sub', 'carol', '--secret', secret, ...scopes.flatMap((s) => ['--scope', s]));
      expect(minted.code).toBe(ExitCode.OK);
      return minted.stdout[0]!;
    };
    const [writer, reader] = await Promise.all([mint('read:*', 'write:*'), mint('read:*')]);
    const at = ['--url', secured.wsUrl];
    const put = await run(...at, '--token', writer, 'put', board, 'k', '1', '--json');
    expect(put.code).toBe(ExitCode.OK);
    const started = Date.now();
    const [refused, forbidden, anonymous] = await Promise.all([
      run(...at, '--token', 'not-a-jwt', '--timeout', '30000', 'get', board, 'k'),
      run(...at, '--token', reader, 'put', board, 'k', '2'),
      run(...at, 'get', board, 'k', '--json'),
    ]);
    expect(refused.code).toBe(ExitCode.FORBIDDEN);
    expect(refused.stderr.join('\n')).toContain('HTTP 401');
    // Refused at the upgrade: no waiting for --timeout.
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(forbidden.code).toBe(ExitCode.FORBIDDEN);
    expect(anonymous.code).toBe(ExitCode.FORBIDDEN);
    const got = await run(...at, 'get', board, 'k', '--json', '--token', reader);
    expect(JSON.parse(got.stdout[0]!)).toMatchObject({ value: 1, version: 1 });
  });

  it('lock runs a command holding the lock, passes its token and status, and exits 4 when it is held', async (ctx) => {
    if (!(await serverAnswers('lock.acquire'))) ctx.skip('this server does not offer locks');
    const board = randomBoard();
    // The command holds on until the test says so, well past the lock's 1 s TTL.
    const release = join(tmpdir(), `release-${board}`);
    const script =
      "console.log('token=' + process.env.BLACKBOARD_LOCK_TOKEN);" +
      `setInterval(() => require('node:fs').existsSync(${JSON.stringify(release)}) && process.exit(3), 50)`;
    const holder = cli('lock', board, 'job', '--ttl-ms', '1000', '--', process.execPath, '-e', script);
    const token = Number((await holder.line('stdout', (l) => l.startsWith('token='))).slice('token='.length));
    expect(token).toBeGreaterThan(0);
    const contender = await client.request('lock.acquire', { board, name: 'job', ttlMs: 1_000 }).catch((e: BlackboardError) => e);
    expect((contender as BlackboardError).code).toBe(ErrorCode.LOCKED);
    const busy = await run('lock', board, 'job', '--', process.execPath, '-e', '');
    expect(busy.code).toBe(ExitCode.LOCKED);
    writeFileSync(release, '');
    // The command's own status comes back; the lock, extended past its 1 s TTL meanwhile, is released.
    expect(await holder.exited).toBe(3);
    rmSync(release);
    const after = await client.request('lock.acquire', { board, name: 'job', ttlMs: 1_000 });
    expect(after.token).toBeGreaterThan(token);

    // A fenced write made by the command under the lock.
    const fenced = await run(
      'lock',
      board,
      'job2',
      '--',
      'sh',
      '-c',
      `"${process.execPath}" ${CLI.join(' ')} put ${board} fenced 1 --fence-lock job2 --fence-token "$BLACKBOARD_LOCK_TOKEN"`,
    );
    expect(fenced.code).toBe(ExitCode.OK);
    expect(await client.value(board, 'fenced')).toBe(1);
    const staleFence = await run('put', board, 'fenced', '2', '--fence-lock', 'job2', '--fence-token', String(token));
    expect(staleFence.code).toBe(ExitCode.LOCKED);
  });

  it('task enqueue, get and cancel', async (ctx) => {
    if (!(await serverAnswers('task.get'))) ctx.skip('this server does not offer tasks');
    const board = randomBoard();
    const enqueued = await run('task', 'enqueue', board, 'jobs', '{"n":1}', '--task-id', 'job-1', '--delay-ms', '60000', '--json');
    expect(enqueued.code).toBe(ExitCode.OK);
    expect(JSON.parse(enqueued.stdout[0]!)).toEqual({ taskId: 'job-1', created: true });
    const again = await run('task', 'enqueue', board, 'jobs', '{"n":2}', '--task-id', 'job-1', '--json');
    expect(JSON.parse(again.stdout[0]!)).toMatchObject({ taskId: 'job-1', created: false });
    const state = await run('task', 'get', board, 'job-1', '--json');
    expect(state.code).toBe(ExitCode.OK);
    expect(JSON.parse(state.stdout[0]!)).toMatchObject({ state: 'delayed' });
    const cancelled = await run('task', 'cancel', board, 'job-1', '--json');
    expect(JSON.parse(cancelled.stdout[0]!)).toMatchObject({ state: 'cancelled' });
    expect((await run('task', 'get', board, 'nope')).code).toBe(ExitCode.NOT_FOUND);
    expect((await run('task', 'frob', board)).code).toBe(ExitCode.USAGE);
  });
});
