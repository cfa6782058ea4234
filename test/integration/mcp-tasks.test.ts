import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlackboardClient } from '../../client/sdk/index.js';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { call, mcpClient, ok, type TestMcpClient } from '../helpers/mcp.js';
import { randomBoard, waitFor } from '../helpers/server.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

/**
 * Acceptance 5: an MCP worker claims a task, checkpoints, loses its connection; another
 * claims the task with attempt 2 and the last checkpoint; the first one's task_complete is FENCED.
 */

const NODE_ENV = { TASK_STALL_CHECK_MS: '300' };
const servers: ServerProcess[] = [];
let port: number;
let ws: BlackboardClient;

async function node(): Promise<{ server: ServerProcess; port: number }> {
  const p = await freePort();
  const server = await spawnServer(p, NODE_ENV);
  servers.push(server);
  return { server, port: p };
}

beforeAll(async () => {
  port = (await node()).port;
  ws = new BlackboardClient({ url: `ws://127.0.0.1:${port}`, WebSocket: WebSocket, agent: 'producer' });
  await ws.connect();
});
afterAll(async () => {
  ws?.close();
  for (const s of servers) s.child.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.exited));
});

interface Claimed {
  task_id: string;
  attempt: number;
  checkpoint: unknown;
  token: string;
}

async function claim(c: TestMcpClient, board: string, extra: Record<string, unknown> = {}): Promise<Claimed> {
  const r = await ok(c, 'task_claim', { board, queue: 'jobs', wait_ms: 15_000, ...extra });
  expect(r.claimed).toBe(true);
  return r.task as Claimed;
}

/** The second worker gets the task back with attempt 2 and the checkpoint; the first one is fenced off. */
async function handOver(first: TestMcpClient, board: string, firstTask: Claimed, second: TestMcpClient): Promise<void> {
  const again = await claim(second, board);
  expect([again.task_id, again.attempt, again.checkpoint]).toEqual(['job', 2, { step: 3 }]);
  expect(again.token).not.toBe(firstTask.token);
  const late = await call(first, 'task_complete', { board, task_id: 'job', token: firstTask.token, result: 'from the first worker' });
  expect(late.code).toBe('FENCED');
  expect((await call(first, 'task_checkpoint', { board, task_id: 'job', token: firstTask.token, checkpoint: { step: 9 } })).code).toBe('FENCED');
  await ok(second, 'task_complete', { board, task_id: 'job', token: again.token, result: 'from the second worker' });
  const info = await ws.task(board, 'job');
  expect([info.state, info.attempt, info.result]).toEqual(['completed', 2, 'from the second worker']);
}

describe('an MCP task worker that loses its connection', () => {
  it('over stdio: its task goes to the next worker with attempt 2 and the checkpoint, and its complete is FENCED', async () => {
    const board = randomBoard('mcpk');
    await ws.enqueue(board, 'jobs', { report: 'q3' }, { taskId: 'job' });
    await using proxy = await startTcpProxy(port);
    const first = await mcpClient('stdio', { baseUrl: '', wsUrl: `ws://127.0.0.1:${proxy.port}` }, { agent: 'worker-1' });
    const second = await mcpClient('http', { baseUrl: `http://127.0.0.1:${port}`, wsUrl: '' }, { agent: 'worker-2' });
    try {
      const task = await claim(first, board);
      expect([task.task_id, task.attempt, task.checkpoint]).toEqual(['job', 1, null]);
      await ok(first, 'task_checkpoint', { board, task_id: 'job', token: task.token, checkpoint: { step: 3 }, progress: 30 });
      // The network between the worker and the server fails; the worker's connection comes back.
      await proxy.close();
      await proxy.open();
      await waitFor(async () => (await call(first, 'task_get', { board, task_id: 'job' })).code === undefined, 20_000, 'the first worker to reconnect');
      await handOver(first, board, task, second);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('over HTTP: its node dies, the session continues on another node, and its complete is FENCED', async () => {
    const board = randomBoard('mcpk');
    await ws.enqueue(board, 'jobs', { report: 'q4' }, { taskId: 'job' });
    const a = await node();
    const first = await mcpClient('http', { baseUrl: `http://127.0.0.1:${a.port}`, wsUrl: '' }, { agent: 'worker-1' });
    const second = await mcpClient('http', { baseUrl: `http://127.0.0.1:${port}`, wsUrl: '' }, { agent: 'worker-2' });
    let moved: Client | null = null;
    try {
      const task = await claim(first, board, { lease_ms: 1_000 });
      await ok(first, 'task_checkpoint', { board, task_id: 'job', token: task.token, checkpoint: { step: 3 } });
      const sessionId = first.http!.sessionId!;
      a.server.child.kill('SIGKILL');
      await a.server.exited;
      // The same MCP session, now reaching the other node.
      moved = new Client({ name: 'blackboard-test', version: '1.0.0' });
      await moved.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp?agent=worker-1`), { sessionId }));
      await moved.listTools();
      const resumed: TestMcpClient = { client: moved, http: null, stderr: () => '', close: async () => undefined };
      await handOver(resumed, board, task, second);
    } finally {
      await moved?.close();
      await first.close().catch(() => undefined);
      await second.close();
    }
  });
});
