import { afterEach, describe, expect, it } from 'vitest';
import { BlackboardClient } from '../../client/sdk/index.js';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { CheckedWebSocket, randomBoard, waitFor } from '../helpers/server.js';

let running: ServerProcess | null = null;
afterEach(() => {
  running?.child.kill('SIGKILL');
  running = null;
});

function client(port: number): BlackboardClient {
  return new BlackboardClient({
    url: `ws://127.0.0.1:${port}`,
    WebSocket: CheckedWebSocket,
    reconnect: { baseMs: 50, capMs: 300 },
    requestTimeoutMs: 30_000,
  });
}

describe('server restart', () => {
  it('SIGTERM and start again mid-run: writer and watcher carry on, nothing acknowledged is missed', async () => {
    const port = await freePort();
    const board = randomBoard();
    running = await spawnServer(port);
    const writer = client(port);
    const watcher = client(port);
    await writer.connect();
    const seen = new Set<number>();
    const duplicates: number[] = [];
    const watch = watcher.watch(board, ['**'], (change) => {
      if (change.type !== 'event') return;
      // Every write here is a single put, so a revision seen twice is a duplicate delivery.
      if (seen.has(change.event.rev)) duplicates.push(change.event.rev);
      seen.add(change.event.rev);
    });
    await watch.ready();

    const acknowledged: number[] = [];
    let stop = false;
    const writing = (async () => {
      for (let i = 0; !stop; i++) {
        const { rev } = await writer.put(board, `item/${i % 20}`, { i });
        acknowledged.push(rev);
      }
    })();

    await waitFor(() => acknowledged.length > 100, 20_000, 'writes before the restart');
    const first = running;
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    running = await spawnServer(port);
    const atRestart = acknowledged.length;
    await waitFor(() => acknowledged.length > atRestart + 100, 30_000, 'writes after the restart');
    stop = true;
    await writing;

    const last = acknowledged[acknowledged.length - 1]!;
    await waitFor(() => watch.rev >= last, 20_000, 'the watcher to catch up');
    for (const rev of acknowledged) expect(seen.has(rev)).toBe(true);
    expect(duplicates).toEqual([]);
    const board2 = await writer.list(board, '');
    expect(watch.values()).toEqual(Object.fromEntries(board2.items.map((item) => [item.key, item.value])));
    writer.close();
    watcher.close();
  });
});
