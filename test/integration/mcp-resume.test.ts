import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlackboardClient } from '../../client/sdk/index.js';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { sseEvents } from '../helpers/mcp.js';
import { randomBoard, waitFor } from '../helpers/server.js';

/**
 * Acceptance 6: a client that drops its SSE stream and reconnects with Last-Event-ID gets
 * the notifications it missed, from the same node or from another one. Spoken in raw
 * HTTP, so that the test decides exactly when the stream drops and what it resumes from.
 */

const VERSION = '2025-11-25';
const nodes: Array<{ server: ServerProcess; url: string }> = [];
let ws: BlackboardClient;

beforeAll(async () => {
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    nodes.push({ server: await spawnServer(port), url: `http://127.0.0.1:${port}/mcp` });
  }
  ws = new BlackboardClient({
    url: nodes[0]!.url.replace('http', 'ws').replace('/mcp', ''),
    WebSocket: WebSocket,
  });
  await ws.connect();
});
afterAll(async () => {
  ws?.close();
  for (const n of nodes) n.server.child.kill('SIGTERM');
  await Promise.all(nodes.map((n) => n.server.exited));
});

interface Message {
  id?: number;
  method?: string;
  result?: unknown;
  params?: { uri?: string; _meta?: { rev?: number } };
}

const headers = (sessionId?: string, extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': VERSION,
  ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
  ...extra,
});

/** A request whose reply comes on an SSE response; resolves with the reply. */
async function request(
  url: string,
  sessionId: string | undefined,
  id: number,
  method: string,
  params: unknown,
): Promise<{ reply: Message; sessionId: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: headers(sessionId),
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
  });
  expect(res.status, `${method}: ${res.status}`).toBe(200);
  for await (const event of sseEvents(res.body!)) {
    if (event.data === '') continue;
    const message = JSON.parse(event.data) as Message;
    if (message.id === id) return { reply: message, sessionId: res.headers.get('mcp-session-id') ?? sessionId ?? '' };
  }
  throw new Error(`no reply to ${method}`);
}

/** The session's notification stream (GET), collecting resource updates until dropped. */
function listen(url: string, sessionId: string, lastEventId?: string) {
  const controller = new AbortController();
  const updates: Array<{ id: string; rev: number }> = [];
  const done = (async () => {
    const res = await fetch(url, {
      headers: headers(sessionId, lastEventId ? { 'last-event-id': lastEventId } : {}),
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    for await (const event of sseEvents(res.body!)) {
      if (event.data === '') continue;
      const message = JSON.parse(event.data) as Message;
      if (message.method === 'notifications/resources/updated') updates.push({ id: event.id!, rev: message.params!._meta!.rev! });
    }
  })().catch((err: unknown) => {
    if ((err as Error).name !== 'AbortError') throw err;
  });
  return { updates, drop: () => controller.abort(), done };
}

describe('a Streamable HTTP client whose SSE stream drops', () => {
  it('gets what it missed on reconnecting with Last-Event-ID, on the same node and on another', async () => {
    const board = randomBoard('mcpe');
    const [a, b] = [nodes[0]!.url, nodes[1]!.url];
    const init = await request(a, undefined, 1, 'initialize', {
      protocolVersion: VERSION,
      capabilities: {},
      clientInfo: { name: 'raw', version: '1' },
    });
    const sessionId = init.sessionId;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    await fetch(a, {
      method: 'POST',
      headers: headers(sessionId),
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    await request(a, sessionId, 2, 'resources/subscribe', { uri: `blackboard://${board}/plan` });

    const write = async () => (await ws.put(board, 'plan', Math.random())).rev;
    const stream1 = listen(a, sessionId);
    // The stream is open once the first update arrives through it.
    const r1 = await write();
    await waitFor(() => stream1.updates.length === 1, 10_000, 'the first update');
    stream1.drop();
    await stream1.done;
    expect(stream1.updates.map((u) => u.rev)).toEqual([r1]);

    // Missed while no stream was open: two changes.
    const missed = [await write(), await write()];
    await new Promise((r) => setTimeout(r, 500));
    const stream2 = listen(a, sessionId, stream1.updates[0]!.id);
    await waitFor(() => stream2.updates.length >= 2, 10_000, 'the missed updates from the same node');
    expect(stream2.updates.map((u) => u.rev)).toEqual(missed);
    const live = await write();
    await waitFor(() => stream2.updates.length === 3, 10_000, 'a live update');
    stream2.drop();
    await stream2.done;

    // Missed again, and this time the client comes back through the other node.
    const missedAgain = [await write(), await write()];
    await new Promise((r) => setTimeout(r, 500));
    const stream3 = listen(b, sessionId, stream2.updates[2]!.id);
    await waitFor(() => stream3.updates.length >= 2, 10_000, 'the missed updates from the other node');
    expect(stream3.updates.map((u) => u.rev)).toEqual(missedAgain);
    // The other node now serves the session: new changes come through it, and so do requests.
    const later = await write();
    await waitFor(() => stream3.updates.length === 3, 10_000, 'a live update through the other node');
    expect(stream3.updates.map((u) => u.rev)).toEqual([...missedAgain, later]);
    expect(live).toBeLessThan(missedAgain[0]!);
    const listed = await request(b, sessionId, 3, 'tools/list', {});
    expect((listed.reply.result as { tools: unknown[] }).tools).toHaveLength(19);
    stream3.drop();
    await stream3.done;

    const ended = await fetch(b, { method: 'DELETE', headers: headers(sessionId) });
    expect(ended.status).toBe(200);
    const gone = await fetch(a, {
      method: 'POST',
      headers: headers(sessionId),
      body: JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/list' }),
    });
    expect(gone.status).toBe(404);
  });

  it('gets the reply to a call whose stream dropped, by resuming that stream with Last-Event-ID', async () => {
    const board = randomBoard('mcpe');
    const url = nodes[0]!.url;
    const init = await request(url, undefined, 1, 'initialize', {
      protocolVersion: VERSION,
      capabilities: {},
      clientInfo: { name: 'raw', version: '1' },
    });
    const sessionId = init.sessionId;
    // A call that waits: a claim on an empty queue, answered once a task arrives.
    const connection = new AbortController();
    const call = await fetch(url, {
      signal: connection.signal,
      method: 'POST',
      headers: headers(sessionId),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'task_claim', arguments: { board, queue: 'q', wait_ms: 20_000 } },
      }),
    });
    const events = sseEvents(call.body!);
    const priming = (await events.next()).value as { id?: string; data: string };
    expect(priming.data).toBe('');
    // The connection drops before the reply; the call goes on at the server.
    connection.abort();
    await events.return(undefined).catch(() => undefined);
    await ws.enqueue(board, 'q', { n: 1 }, { taskId: 'late' });
    const resumed = await fetch(url, { headers: headers(sessionId, { 'last-event-id': priming.id! }) });
    expect(resumed.status).toBe(200);
    let reply: Message | undefined;
    for await (const event of sseEvents(resumed.body!)) {
      if (event.data === '') continue;
      reply = JSON.parse(event.data) as Message;
      if (reply.id === 7) break;
    }
    const result = reply!.result as { structuredContent: { claimed: boolean; task: { task_id: string } } };
    expect(result.structuredContent).toMatchObject({ claimed: true, task: { task_id: 'late' } });
    await fetch(url, { method: 'DELETE', headers: headers(sessionId) });
  });
});
