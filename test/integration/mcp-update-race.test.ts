import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { mcpClient, ok, type TestMcpClient } from '../helpers/mcp.js';
import { randomBoard } from '../helpers/server.js';

/** Acceptance 2: two MCP clients increment one key with board_update, 100 times each, and lose nothing. */

let server: ServerProcess;
let target: { baseUrl: string; wsUrl: string };

beforeAll(async () => {
  const port = await freePort();
  server = await spawnServer(port);
  target = { baseUrl: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}` };
});
afterAll(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
});

interface State {
  committed: boolean;
  version: number;
  value?: number;
}

/** A barrier both clients reach before their first write, so that their first writes collide. */
function barrier(parties: number): () => Promise<void> {
  let waiting = 0;
  let release = () => {};
  const all = new Promise<void>((resolve) => (release = resolve));
  return () => {
    if (++waiting === parties) release();
    return all;
  };
}

/** What a model does with board_update: read, add one, write with the version read; on a conflict, redo from what it returned. */
async function increments(c: TestMcpClient, board: string, times: number, firstWrite: () => Promise<void>): Promise<{ conflicts: number; commits: number }> {
  let state = (await ok(c, 'board_update', { board, key: 'counter' })) as unknown as State;
  await firstWrite();
  let conflicts = 0;
  let commits = 0;
  while (commits < times) {
    const next = (await ok(c, 'board_update', {
      board,
      key: 'counter',
      value: (state.value ?? 0) + 1,
      version: state.version,
    })) as unknown as State;
    if (next.committed) commits++;
    else conflicts++;
    state = next;
  }
  return { conflicts, commits };
}

describe('board_update from two MCP clients on one key', () => {
  it('ends at 200 after 100 increments each, the conflicts answered with the value that won', async () => {
    const board = randomBoard('mcpu');
    const http = await mcpClient('http', target, { agent: 'counter-http' });
    const stdio = await mcpClient('stdio', target, { agent: 'counter-stdio' });
    try {
      const start = barrier(2);
      const [a, b] = await Promise.all([increments(http, board, 100, start), increments(stdio, board, 100, start)]);
      expect(a.commits + b.commits).toBe(200);
      // Both read version 0 before either wrote, so at least the second first write conflicted.
      expect(a.conflicts + b.conflicts).toBeGreaterThan(0);
      const final = await ok(http, 'board_get', { board, key: 'counter' });
      expect([final.value, final.version]).toEqual([200, 200]);

      // The conflicts were counted where an operator would look.
      const metrics = await (await fetch(`${target.baseUrl}/metrics`)).text();
      const count = (result: string) =>
        Number(new RegExp(`^blackboard_mcp_tool_calls_total\\{tool="board_update",result="${result}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? -1);
      // The node serves the HTTP client's MCP calls (one read, 100 commits, its conflicts); the
      // stdio process runs its tools itself and reaches the node as protocol ops.
      expect(count('ok')).toBe(101 + a.conflicts);
      expect(metrics).toMatch(/^blackboard_mcp_sessions 1$/m);
      expect(metrics).toMatch(/^blackboard_mcp_sessions_opened_total\{how="new"\} 1$/m);
    } finally {
      await http.close();
      await stdio.close();
    }
  });
});
