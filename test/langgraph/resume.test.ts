import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySaver } from '@langchain/langgraph';
import type { CheckpointTuple } from '@langchain/langgraph-checkpoint';
import type { BlackboardClient } from '../../client/sdk/index.js';
import { BlackboardSaver } from '../../client/langgraph/index.js';
import { randomBoard, waitFor, type TestServer } from '../helpers/server.js';
import { startHistoryServer, type HistoryServer } from './fixtures/history-server.js';
import { relayGraph, type RelayValues } from './fixtures/relay-graph.js';
import { spawnRelay } from './fixtures/child.js';

let history: HistoryServer;
let server: TestServer;
let client: BlackboardClient;
let dir: string;

beforeAll(async () => {
  history = await startHistoryServer('bblgresume');
  server = history.server;
  client = await server.client();
  dir = mkdtempSync(join(tmpdir(), 'lg-resume-'));
});
afterAll(async () => {
  await history.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The state an uninterrupted run ends with. */
async function uninterrupted(rounds: number): Promise<RelayValues> {
  return relayGraph(new MemorySaver(), { rounds }).invoke({ count: 0 }, { configurable: { thread_id: 'reference' } });
}

function finishedNodes(execLog: string): string[] {
  return readFileSync(execLog, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('end '));
}

function hasPendingWrite(tuple: CheckpointTuple | undefined, entry: string): boolean {
  return (tuple?.pendingWrites ?? []).some(([, channel, value]) => channel === 'log' && JSON.stringify(value) === JSON.stringify([entry]));
}

/** Runs the thread in a child process until `slow` hangs at `hangAt` with `fast`'s write saved, then SIGKILLs it. */
async function killMidStep(board: string, thread: string, rounds: number, hangAt: number, execLog: string): Promise<void> {
  const saver = new BlackboardSaver({ client, board });
  const run = spawnRelay({ url: server.wsUrl, board, thread, rounds, execLog, mode: 'start', hangAt });
  await waitFor(async () => hasPendingWrite(await saver.getTuple({ configurable: { thread_id: thread } }), `fast:${hangAt}`), 60_000, `fast:${hangAt} saved`);
  run.child.kill('SIGKILL');
  expect(await run.exited).toBe('SIGKILL');
}

describe('a real StateGraph in child processes', () => {
  it('killed mid-step and resumed by another process, ends as an uninterrupted run, and no finished node runs again', async () => {
    const board = randomBoard('lgcrash');
    const execLog = join(dir, 'crash.log');
    const rounds = 6;
    await killMidStep(board, 'thread-crash', rounds, 3, execLog);
    expect(finishedNodes(execLog)).toContain('end fast:3');
    expect(finishedNodes(execLog)).not.toContain('end slow:3');

    const resumed = spawnRelay({ url: server.wsUrl, board, thread: 'thread-crash', rounds, execLog, mode: 'resume' });
    const result = JSON.parse((await resumed.line('RESULT ')).slice('RESULT '.length)) as RelayValues;
    expect(await resumed.exited).toBe(0);
    expect(result).toEqual(await uninterrupted(rounds));

    // Every node that finished before the kill (fast:3 included: its write was pending) ran once.
    const finished = finishedNodes(execLog);
    expect(new Set(finished).size).toBe(finished.length);
    expect(finished.filter((l) => l === 'end fast:3')).toHaveLength(1);
    expect(finished).toContain('end slow:3');
  });

  it('two processes resuming one thread at once: one advances it, the other gets THREAD_ADVANCED, and the chain does not fork', async () => {
    const board = randomBoard('lgrace');
    const execLog = join(dir, 'race.log');
    const gate = join(dir, 'race.gate');
    const rounds = 4;
    const thread = 'thread-race';
    await killMidStep(board, thread, rounds, 2, execLog);

    const runs = [0, 1].map(() => spawnRelay({ url: server.wsUrl, board, thread, rounds, execLog, mode: 'resume', gate }));
    // Both have read the thread and are inside `slow` before either may write.
    await Promise.all(runs.map((r) => r.line('IN-SLOW 2')));
    writeFileSync(gate, 'go');
    const codes = await Promise.all(runs.map((r) => r.exited));
    expect([...codes].sort()).toEqual([0, 3]);
    const winner = runs[codes.indexOf(0)]!;
    const loser = runs[codes.indexOf(3)]!;
    expect(await loser.line('ERROR ')).toMatch(/^ERROR THREAD_ADVANCED /);
    const result = JSON.parse((await winner.line('RESULT ')).slice('RESULT '.length)) as RelayValues;
    expect(result).toEqual(await uninterrupted(rounds));
    expect(existsSync(gate)).toBe(true);

    // One chain: every checkpoint has at most one child, and walking parents from the head reaches them all.
    const saver = new BlackboardSaver({ client, board });
    const all: CheckpointTuple[] = [];
    for await (const t of saver.list({ configurable: { thread_id: thread, checkpoint_ns: '' } })) all.push(t);
    const parentOf = new Map(all.map((t) => [t.checkpoint.id, t.parentConfig?.configurable?.checkpoint_id as string | undefined]));
    const children = new Map<string, number>();
    for (const parent of parentOf.values()) if (parent) children.set(parent, (children.get(parent) ?? 0) + 1);
    expect(Math.max(...children.values())).toBe(1);
    const head = await saver.getTuple({ configurable: { thread_id: thread } });
    let walked = 0;
    for (let id: string | undefined = head?.checkpoint.id; id; id = parentOf.get(id)) walked++;
    expect(walked).toBe(all.length);
    expect(head?.checkpoint.channel_values).toMatchObject({ count: rounds });
  });
});
