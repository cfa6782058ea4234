import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlackboardClient } from '../../client/sdk/index.js';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { mcpClient, type TestMcpClient, type Transport } from '../helpers/mcp.js';
import { randomBoard, waitFor } from '../helpers/server.js';

/** Acceptance 3: resources, their subscriptions fed by writes made over the WebSocket, and the prompt. */

let server: ServerProcess;
let target: { baseUrl: string; wsUrl: string };
let ws: BlackboardClient;

beforeAll(async () => {
  const port = await freePort();
  server = await spawnServer(port);
  target = { baseUrl: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}` };
  ws = new BlackboardClient({ url: target.wsUrl, WebSocket: WebSocket, agent: 'ws-writer' });
  await ws.connect();
});
afterAll(async () => {
  ws?.close();
  server?.child.kill('SIGTERM');
  await server?.exited;
});

function collect(c: TestMcpClient): Array<{ uri: string; rev?: number }> {
  const seen: Array<{ uri: string; rev?: number }> = [];
  c.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    const rev = (n.params._meta as { rev?: number } | undefined)?.rev;
    seen.push({ uri: n.params.uri, ...(rev === undefined ? {} : { rev }) });
  });
  return seen;
}

/** The JSON body of a read resource's first (text) content. */
function body(read: { contents: Array<{ text: string } | { blob: string }> }): Record<string, unknown> {
  const content = read.contents[0]!;
  if (!('text' in content)) throw new Error('a Blackboard resource is JSON text');
  return JSON.parse(content.text) as Record<string, unknown>;
}

describe.each<Transport>(['http', 'stdio'])('resources over %s', (transport) => {
  let c: TestMcpClient;
  const board = randomBoard('mcpr');

  beforeAll(async () => {
    c = await mcpClient(transport, target, { board });
  });
  afterAll(async () => {
    await c?.close();
  });

  it('notifies a subscriber of blackboard://B/plan for WebSocket writes to plan, and for no other key', async () => {
    const seen = collect(c);
    const plan = `blackboard://${board}/plan`;
    await c.client.subscribeResource({ uri: plan });
    const notified = (rev: number) => waitFor(() => seen.some((s) => s.rev === rev), 10_000, `the notification of rev ${rev}`);
    const revs: number[] = [];
    await ws.put(board, 'other', 1);
    revs.push((await ws.put(board, 'plan', { step: 1 })).rev);
    await notified(revs[0]!);
    await ws.put(board, 'plan/child', 1);
    await ws.put(board, 'planet', 1);
    revs.push((await ws.patch(board, 'plan', [{ op: 'add', path: '/step', value: 2 }])).rev);
    await notified(revs[1]!);
    revs.push((await ws.delete(board, 'plan')).rev);
    await notified(revs[2]!);
    await ws.put(board, 'other', 2);
    await ws.put(board, 'plans', 2);
    await new Promise((r) => setTimeout(r, 500));
    // One notification per change of plan, none for the keys beside it.
    expect(seen).toEqual(revs.map((rev) => ({ uri: plan, rev })));

    await c.client.unsubscribeResource({ uri: plan });
    await ws.put(board, 'plan', 'again');
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toHaveLength(3);
  });

  it('reads a key with its version and lastRev, an absent key as version 0, and the board index', async () => {
    const put = await ws.put(board, 'tasks/42', { owner: 'ada' });
    const read = await c.client.readResource({ uri: `blackboard://${board}/tasks/42` });
    const content = read.contents[0]!;
    expect(content.mimeType).toBe('application/json');
    expect(body(read)).toMatchObject({ board, key: 'tasks/42', value: { owner: 'ada' }, version: 1, mod_rev: put.rev, lastRev: put.rev });
    expect(content._meta).toEqual({ lastRev: put.rev });
    // The same key with its `/` percent-encoded, as a strict template expansion gives it.
    expect(body(await c.client.readResource({ uri: `blackboard://${board}/tasks%2F42` }))).toMatchObject({ version: 1 });
    expect(body(await c.client.readResource({ uri: `blackboard://${board}/nothing/here` }))).toEqual({
      board,
      key: 'nothing/here',
      version: 0,
      lastRev: put.rev,
    });
    const index = body(await c.client.readResource({ uri: `blackboard://${board}` }));
    expect(index).toMatchObject({ board, lastRev: put.rev, more: false });
    expect((index.keys as Array<{ key: string }>).map((k) => k.key)).toContain('tasks/42');
    await expect(c.client.readResource({ uri: 'file:///etc/passwd' })).rejects.toThrow(/not a Blackboard resource/);
    await expect(c.client.subscribeResource({ uri: 'blackboard://NOT_A_BOARD/x' })).rejects.toThrow(/not a Blackboard resource/);
  });

  it('notifies an index subscriber of any change, and lists the board and the templates', async () => {
    const seen = collect(c);
    await c.client.subscribeResource({ uri: `blackboard://${board}` });
    const w = await ws.put(board, 'anything/else', true);
    await waitFor(() => seen.some((s) => s.rev === w.rev), 10_000, 'the index notification');
    await c.client.unsubscribeResource({ uri: `blackboard://${board}` });
    expect((await c.client.listResources()).resources.map((r) => r.uri)).toEqual([`blackboard://${board}`]);
    const templates = (await c.client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(templates).toEqual(['blackboard://{board}/{key}', 'blackboard://{board}']);
  });

  it('offers the coordinate prompt', async () => {
    expect((await c.client.listPrompts()).prompts.map((p) => p.name)).toEqual(['coordinate']);
    const prompt = await c.client.getPrompt({ name: 'coordinate', arguments: { goal: 'ship the report' } });
    const text = (prompt.messages[0]!.content as { text: string }).text;
    expect(text).toContain(`board "${board}"`);
    expect(text).toContain('ship the report');
    expect(text).toMatch(/board_update/);
  });
});
