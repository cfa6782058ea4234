import { afterEach, describe, expect, it } from 'vitest';
import { BlackboardClient, type Watch } from '../../client/sdk/index.js';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { CheckedWebSocket, randomBoard, waitFor } from '../helpers/server.js';

let nodes: ServerProcess[] = [];
const clients: BlackboardClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const n of nodes) n.child.kill('SIGKILL');
  nodes = [];
});

function client(urls: string[]): BlackboardClient {
  const c = new BlackboardClient({
    url: urls,
    WebSocket: CheckedWebSocket,
    reconnect: { baseMs: 20, capMs: 300 },
    requestTimeoutMs: 30_000,
  });
  clients.push(c);
  return c;
}

async function startNodes(count: number): Promise<string[]> {
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  nodes = await Promise.all(ports.map((port, i) => spawnServer(port, { NODE_ID: `node-${i}` })));
  return ports.map((p) => `ws://127.0.0.1:${p}`);
}

/** 30 agents spread over the nodes, each doing CAS increments and list appends; one watcher per node. */
async function agentRun(urls: string[], board: string, killNodeMidRun: boolean) {
  const setup = client([urls[0]!]);
  await setup.connect();
  await setup.put(board, 'list', { items: [] });
  const watchers: Watch[] = [];
  const seen: number[][] = [];
  for (const [i, url] of urls.entries()) {
    const w = client([url]);
    await w.connect();
    const revs: number[] = [];
    seen.push(revs);
    const watch = w.watch(board, ['**'], (change) => {
      if (change.type === 'event') revs.push(change.event.rev);
    });
    await watch.ready();
    watchers[i] = watch;
  }
  const agents = Array.from({ length: 30 }, (_, i) => client(urls.map((_, j) => urls[(i + j) % urls.length]!)));
  await Promise.all(agents.map((a) => a.connect()));
  const perAgent = 15;
  let progress = 0;
  const work = Promise.all(
    agents.map(async (agent, a) => {
      for (let i = 0; i < perAgent; i++) {
        await agent.update<number>(board, 'counter', (n) => (n ?? 0) + 1);
        await agent.patch(board, 'list', [{ op: 'add', path: '/items/-', value: `${a}-${i}` }]);
        progress++;
      }
    }),
  );
  let killed = -1;
  if (killNodeMidRun) {
    await waitFor(() => progress > 100, 60_000, 'the run to get going');
    killed = nodes.length - 1;
    nodes[killed]!.child.kill('SIGKILL');
    await nodes[killed]!.exited;
  }
  await work;
  const counter = await setup.get<number>(board, 'counter');
  const list = await setup.get<{ items: string[] }>(board, 'list');
  return { counter, list, watchers, seen, killed, total: 30 * perAgent };
}

describe('several nodes on one Redis', () => {
  it('30 agents over 3 nodes: exact totals, and every watcher on every node sees every event once, in order', async () => {
    const urls = await startNodes(3);
    const board = randomBoard();
    const { counter, list, watchers, seen, total } = await agentRun(urls, board, false);
    expect(counter.value).toBe(total);
    expect(list.value.items).toHaveLength(total);
    expect(new Set(list.value.items).size).toBe(total);
    const lastRev = list.rev;
    for (const [i, watch] of watchers.entries()) {
      await waitFor(() => watch.rev >= lastRev, 20_000, `watcher on node ${i}`);
      // The list was created before the watchers started (revision 1, in their snapshot).
      expect(seen[i]).toEqual(Array.from({ length: lastRev - 1 }, (_, r) => r + 2));
    }
  });

  it('killing one node mid-run: its agents resume on the others and the totals are still exact', async () => {
    const urls = await startNodes(3);
    const board = randomBoard();
    const { counter, list, watchers, seen, killed, total } = await agentRun(urls, board, true);
    expect(killed).toBe(2);
    expect(counter.value).toBe(total);
    expect(list.value.items).toHaveLength(total);
    expect(new Set(list.value.items).size).toBe(total);
    const lastRev = list.rev;
    for (const [i, watch] of watchers.entries()) {
      if (i === killed) continue;
      await waitFor(() => watch.rev >= lastRev, 20_000, `watcher on node ${i}`);
      // The list was created before the watchers started (revision 1, in their snapshot).
      expect(seen[i]).toEqual(Array.from({ length: lastRev - 1 }, (_, r) => r + 2));
    }
  });
});
