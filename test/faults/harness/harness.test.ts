import { createServer, Socket, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlackboardClient } from '../../../client/sdk/index.js';
import { EpochMonitor } from './epochs.js';
import type { RecordedOperation } from './recorder.js';
import { startFaultProxy } from './tcp-proxy.js';
import { sleep, waitUntil } from './time.js';
import { checkRecorded } from './verdict.js';

/** The pieces the scenarios rely on, checked against known outcomes first. */

let echo: Server;
let echoPort = 0;
const serverSides = new Set<Socket>();
beforeAll(async () => {
  echo = createServer((socket) => {
    serverSides.add(socket);
    socket.on('close', () => serverSides.delete(socket));
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
  const address = echo.address();
  echoPort = typeof address === 'object' && address ? address.port : 0;
});
afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())));

function connect(port: number): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let data = '';
    let closed = false;
    socket.on('data', (d: Buffer) => (data += d.toString()));
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    socket.once('error', reject);
    socket.connect(port, '127.0.0.1', () => resolve({ socket, received: () => data, closed: () => closed }));
  });
}

describe('fault proxy', () => {
  it('forwards, stalls without closing, notices the target closing during a stall, and counts drops and resets', async () => {
    await using proxy = await startFaultProxy(echoPort);
    const a = await connect(proxy.port);
    a.socket.write('one');
    await waitUntil(() => a.received() === 'one', 5_000, 'echo');

    proxy.stall();
    a.socket.write('two');
    await sleep(200);
    expect(a.received()).toBe('one');
    expect(a.closed()).toBe(false);
    // The target gives up on the silent link: counted, and the client is told nothing yet.
    for (const side of serverSides) side.destroy();
    await waitUntil(() => proxy.counts.targetClosedWhileStalled === 1, 5_000, 'the close to be seen');
    expect(a.closed()).toBe(false);
    proxy.resume();
    await waitUntil(() => a.closed(), 5_000, 'the client to be closed on resume');

    const b = await connect(proxy.port);
    const c = await connect(proxy.port);
    await waitUntil(() => proxy.openConnections === 2, 5_000, 'two links');
    expect(proxy.drop()).toBe(2);
    await waitUntil(() => b.closed() && c.closed(), 5_000, 'dropped links to close');
    const d = await connect(proxy.port);
    await waitUntil(() => proxy.openConnections === 1, 5_000, 'one link');
    expect(proxy.reset()).toBe(1);
    await waitUntil(() => d.closed(), 5_000, 'the reset link to close');
    expect(proxy.counts).toMatchObject({ stalls: 1, drops: 1, droppedConnections: 2, resets: 1, resetConnections: 1 });
  });
});

describe('verdict', () => {
  const write = (client: string, call: number, ret: number, value: string, version: number, generation = 0): RecordedOperation => ({
    generation,
    client,
    key: 'k',
    op: 'write',
    call,
    ret,
    input: { value },
    output: { version },
  });
  const read = (client: string, call: number, ret: number, value: string | null, version: number, generation = 0): RecordedOperation => ({
    generation,
    client,
    key: 'k',
    op: 'read',
    call,
    ret,
    output: { version, value },
  });
  const monitor = () => new EpochMonitor({} as BlackboardClient, 'b');

  it('finds a lost acknowledged write (a later read sees the state before it)', () => {
    const ops = [write('a', 0, 1, 'a-1', 1), write('a', 2, 3, 'a-2', 2), read('b', 4, 5, 'a-1', 1)];
    expect(checkRecorded(ops, monitor(), 5_000).linearizable).toBe('no');
  });

  it('checks each epoch generation apart, cutting the old one at the data loss', () => {
    const epochs = monitor();
    epochs.dataLosses.push(3.5);
    epochs.changes.push({ from: 'e1', to: 'e2', detectedAt: 4, via: 'boards' });
    // Before the loss: linearizable. A write still running at the loss becomes unknown.
    const ops = [write('a', 0, 1, 'a-1', 1), read('b', 2, 3, 'a-1', 1), write('a', 3, 6, 'a-2', 2), read('b', 5, 6, null, 0, 1), write('b', 7, 8, 'b-1', 1, 1)];
    expect(checkRecorded(ops, epochs, 5_000)).toMatchObject({ linearizable: 'yes', generations: 2 });
    // Without the announced epoch the same history is a violation.
    const uncut = ops.map((o) => ({ ...o, generation: 0 }));
    expect(checkRecorded(uncut, monitor(), 5_000).linearizable).toBe('no');
  });
});
