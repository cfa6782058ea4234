import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../server/security/mint.js';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { call, mcpClient, ok, type Transport } from '../helpers/mcp.js';
import { randomBoard } from '../helpers/server.js';

/** Acceptance 4: a session sees the tools its token's scopes allow; the server refuses the rest. */

const SECRET = randomBytes(32).toString('hex');
let server: ServerProcess;
let target: { baseUrl: string; wsUrl: string };
const board = randomBoard('mcps');

beforeAll(async () => {
  const port = await freePort();
  server = await spawnServer(port, { AUTH_MODE: 'jwt', JWT_SECRET: SECRET });
  target = { baseUrl: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}` };
});
afterAll(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
});

const token = (sub: string, scope: string) => mintToken({ sub, scope, ttlSeconds: 600, secret: SECRET });
const READ_TOOLS = ['board_get', 'board_history', 'board_list', 'board_search', 'boards'];

describe.each<Transport>(['http', 'stdio'])('scopes over %s', (transport) => {
  it('a token with read:B lists only the read tools, and a forced board_put is FORBIDDEN', async () => {
    const writer = await mcpClient(transport, target, { board, token: await token('writer', `write:${board} read:${board}`) });
    const reader = await mcpClient(transport, target, { board, token: await token('reader', `read:${board}`) });
    try {
      await ok(writer, 'board_put', { key: 'plan', value: 'v1' });
      expect((await reader.client.listTools()).tools.map((t) => t.name).sort()).toEqual(READ_TOOLS);
      expect((await ok(reader, 'board_get', { key: 'plan' })).value).toBe('v1');
      const forced = await call(reader, 'board_put', { key: 'plan', value: 'v2' });
      expect(forced.code).toBe('FORBIDDEN');
      expect((forced.structured.error as { details: Record<string, unknown> }).details).toMatchObject({ op: 'put', board, key: 'plan' });
      expect((await call(reader, 'task_claim', { queue: 'q', wait_ms: 0 })).code).toBe('FORBIDDEN');
      expect((await call(reader, 'board_get', { board: randomBoard('elsewhere'), key: 'plan' })).code).toBe('FORBIDDEN');
      await expect(reader.client.subscribeResource({ uri: `blackboard://${randomBoard('elsewhere')}/plan` })).rejects.toThrow(/FORBIDDEN/);
      expect((await ok(reader, 'board_get', { key: 'plan' })).value).toBe('v1');

      const tools = (await writer.client.listTools()).tools.map((t) => t.name);
      expect(tools).toEqual(expect.arrayContaining([...READ_TOOLS, 'board_put', 'board_update', 'board_txn']));
      expect(tools).not.toContain('lock_acquire');
      expect(tools).not.toContain('task_claim');
      const admin = await mcpClient(transport, target, { board, token: await token('admin', `admin:${board}`) });
      expect((await admin.client.listTools()).tools).toHaveLength(19);
      await admin.close();
    } finally {
      await writer.close();
      await reader.close();
    }
  });
});

describe('the HTTP endpoint', () => {
  const initialize = (headers: Record<string, string>) =>
    fetch(`${target.baseUrl}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });

  it('refuses a request without a valid token with 401, and a foreign Origin with 403', async () => {
    const none = await initialize({});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await initialize({ authorization: 'Bearer not-a-token' })).status).toBe(401);
    const good = `Bearer ${await token('a', `read:${board}`)}`;
    expect((await initialize({ authorization: good, origin: 'http://evil.example' })).status).toBe(403);
    const opened = await initialize({ authorization: good });
    expect(opened.status).toBe(200);
    await opened.body?.cancel();
  });

  it("answers another agent's request for a session as for an unknown session", async () => {
    const owner = await mcpClient('http', target, { token: await token('owner', `read:${board}`) });
    try {
      const sessionId = owner.http!.sessionId!;
      const other = await fetch(`${target.baseUrl}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${await token('intruder', `read:${board}`)}`,
          'mcp-session-id': sessionId,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      });
      expect(other.status).toBe(404);
      expect((await owner.client.listTools()).tools.length).toBe(5);
    } finally {
      await owner.close();
    }
  });
});
