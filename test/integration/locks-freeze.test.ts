import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEvent } from '../../client/sdk/index.js';
import { randomBoard, startServerAndFastBeat, waitFor, type TestServer } from '../helpers/server.js';

let server: TestServer;
let fastBeat: TestServer;
beforeAll(async () => {
  [server, fastBeat] = await startServerAndFastBeat();
});
afterAll(async () => {
  await Promise.all([server?.stop(), fastBeat?.stop()]);
});

interface AgentEvent {
  event: 'acquired' | 'wrote' | 'fenced' | 'lost' | 'ready';
  at: number;
  token?: number;
  seq?: number;
  rev?: number;
  expiresAt?: number;
}

interface Agent {
  child: ChildProcess;
  events: AgentEvent[];
  output(): string;
  exited: Promise<number | string>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  }
});

/** Starts test/faults/lock-holder-agent.ts as a separate process. */
function spawnAgent(args: string[]): Agent {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/faults/lock-holder-agent.ts', ...args], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const events: AgentEvent[] = [];
  let output = '';
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line) as AgentEvent);
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, events, output: () => output, exited };
}

const count = (agent: Agent, event: AgentEvent['event']) => agent.events.filter((e) => e.event === event).length;

/** Waits for a condition on the agent; a timeout names what the agent printed. */
async function waitForAgent(agent: Agent, condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  try {
    await waitFor(condition, timeoutMs, what);
  } catch (err) {
    throw new Error(`${(err as Error).message}; the agent printed: ${agent.output()}`);
  }
}

describe('a lock holder frozen in another process', () => {
  it('frozen past its TTL: its fenced write after SIGCONT is refused, and nothing it wrote after expiry is on the board', { timeout: 180_000 }, async () => {
    const board = randomBoard();
    const ttlMs = 1_000;
    const agent = spawnAgent([server.wsUrl, 'frozen', board, 'job', String(ttlMs), 'writer']);
    // A process started through tsx can take a while on a loaded machine.
    await waitForAgent(agent, () => count(agent, 'wrote') >= 3, 120_000, "the agent's first writes");
    const first = agent.events.find((e) => e.event === 'acquired')!.token!;

    agent.child.kill('SIGSTOP');
    const successor = await server.client({ agent: 'successor' });
    // Waits until the frozen holder's lock lapses (it can no longer extend it).
    const grant = await successor.acquireLock(board, 'job', { ttlMs: 30_000, waitMs: 15_000 });
    expect(grant.token).toBeGreaterThan(first);
    const fence = { lock: 'job', token: grant.token };
    await successor.put(board, 'shared', { by: 'successor' }, { fence });
    await successor.put(board, 'agent/w0', { by: 'successor' }, { fence });

    agent.child.kill('SIGCONT');
    await waitForAgent(agent, () => count(agent, 'fenced') === 1, 30_000, "the agent's refused write");
    expect(await agent.exited).toBe(0);

    // Whatever the agent wrote was written while its lock was valid: before the successor's token.
    for (const e of agent.events.filter((x) => x.event === 'wrote')) expect(e.rev!).toBeLessThan(grant.token);
    const fencedSeq = agent.events.find((e) => e.event === 'fenced')!.seq!;
    const { items } = await successor.list(board, 'agent/');
    expect(items.some((i) => i.key === `agent/w${fencedSeq}`)).toBe(false);
    for (const item of items) {
      if (item.key === 'agent/w0') expect(item.value).toEqual({ by: 'successor' });
      else expect(item.modRev).toBeLessThan(grant.token);
    }
    expect((await successor.get(board, 'shared')).value).toEqual({ by: 'successor' });
    expect((await successor.get(board, '$locks/job')).value).toMatchObject({ holder: 'successor', token: grant.token });
    await successor.releaseLock(board, 'job', grant.token);
    successor.close();
  });

  it('frozen with a long TTL: the heartbeat drops its connection and its lock and presence go within the window', { timeout: 180_000 }, async () => {
    const board = randomBoard();
    const observer = await server.client({ agent: 'observer' });
    const events: Array<BoardEvent & { seenAt: number }> = [];
    await observer.subscribe(
      { board, patterns: ['$locks/*', '$presence/*'] },
      { events: (batch) => events.push(...batch.map((e) => ({ ...e, seenAt: Date.now() }))) },
    );
    const agent = spawnAgent([fastBeat.wsUrl, 'sleeper', board, 'held', '60000', 'idle']);
    await waitForAgent(agent, () => count(agent, 'ready') === 1, 120_000, 'the agent');

    agent.child.kill('SIGSTOP');
    const frozenAt = Date.now();
    // Only what followed the freeze: a set-up that had to be redone left deletes of its own before it.
    const gone = (key: string) => events.find((e) => e.key === key && e.type === 'delete' && e.seenAt >= frozenAt);
    await waitFor(() => Boolean(gone('$locks/held') && gone('$presence/sleeper')), 10_000, 'the release');
    // One missed ping is 2 × HEARTBEAT_MS (400 ms); allow for a loaded machine, far below the 60 s TTL.
    expect(gone('$locks/held')!.seenAt - frozenAt).toBeLessThan(2_000);
    expect(gone('$locks/held')!.actor).toBe('sleeper');
    expect(gone('$presence/sleeper')!.actor).toBe('sleeper');
    const next = await server.client({ agent: 'next' });
    await expect(next.acquireLock(board, 'held', { ttlMs: 1_000 })).resolves.toMatchObject({ token: expect.any(Number) });
    next.close();
    observer.close();
  });
});
