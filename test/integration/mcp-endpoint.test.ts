import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** The /mcp endpoint's answers to requests that are not MCP sessions at work: each a clear refusal. */

let server: TestServer;
let disabled: TestServer;

beforeAll(async () => {
  [server, disabled] = await Promise.all([startTestServer({ env: { MAX_FRAME_BYTES: '4096' } }), startTestServer({ env: { MCP_ENABLED: 'false' } })]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), disabled?.stop()]);
});

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
});

/** A raw request, so that the Host header is the test's to choose. */
function raw(port: number, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/mcp', method, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the /mcp endpoint', () => {
  it('is absent when MCP_ENABLED=false', async () => {
    expect((await fetch(`${disabled.url}/mcp`, { method: 'POST', headers: JSON_HEADERS, body: initialize })).status).toBe(404);
  });

  it('refuses other methods, requests without a session, unknown sessions and oversized bodies', async () => {
    const put = await fetch(`${server.url}/mcp`, { method: 'PUT' });
    expect([put.status, put.headers.get('allow')]).toEqual([405, 'GET, POST, DELETE']);
    expect((await fetch(`${server.url}/mcp`, { headers: { accept: 'text/event-stream' } })).status).toBe(400);
    const notInit = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(notInit.status).toBe(400);
    expect((await fetch(`${server.url}/mcp`, { method: 'POST', headers: JSON_HEADERS, body: '{not json' })).status).toBe(400);
    const unknown = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'mcp-session-id': 'no-such-session' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: number } }).error.code).toBe(-32001);
    const big = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'initialize', params: { pad: 'x'.repeat(10_000) } }),
    });
    expect(big.status).toBe(413);
  });

  it('answers only loopback host names over loopback without authentication (DNS rebinding)', async () => {
    const evil = await raw(server.port, 'POST', { ...JSON_HEADERS, host: 'evil.example', origin: 'http://evil.example' }, initialize);
    expect(evil.status).toBe(403);
    expect(evil.text).toMatch(/loopback/);
    const fine = await raw(server.port, 'POST', { ...JSON_HEADERS, host: `localhost:${server.port}` }, initialize);
    expect(fine.status).toBe(200);
  });

  it('opens a session as the agent the request names, by query or header', async () => {
    const opened = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'x-blackboard-agent': 'named-by-header' },
      body: initialize,
    });
    expect(opened.status).toBe(200);
    const sessionId = opened.headers.get('mcp-session-id')!;
    await opened.text();
    // Another agent naming itself cannot use the session; the same agent, or an unnamed request, can.
    const headers = { ...JSON_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' };
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    expect((await fetch(`${server.url}/mcp?agent=someone-else`, { method: 'POST', headers, body: list })).status).toBe(404);
    const same = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { ...headers, 'x-blackboard-agent': 'named-by-header' },
      body: list,
    });
    expect(same.status).toBe(200);
    await same.text();
    expect((await fetch(`${server.url}/mcp?agent=bad agent!`, { method: 'POST', headers: JSON_HEADERS, body: initialize })).status).toBe(400);
  });
});
