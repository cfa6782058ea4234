import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawSocket } from '../helpers/raw-socket.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.js';

const HEARTBEAT_MS = 1_000;
const CONNECTIONS = 20;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { HEARTBEAT_MS: String(HEARTBEAT_MS) } });
});
afterAll(async () => {
  await server?.stop();
});

describe('heartbeat', () => {
  it('pings each connection once per HEARTBEAT_MS, the connections in slices spread over the interval rather than all at once', async () => {
    const sockets = await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => RawSocket.open(`${server.wsUrl}?agent=beat${i}`)));
    const pings: number[][] = sockets.map(() => []);
    sockets.forEach((socket, i) => socket.ws.on('ping', () => pings[i]!.push(performance.now())));
    try {
      // Every connection has had three pings.
      await waitFor(() => pings.every((p) => p.length >= 3), 10 * HEARTBEAT_MS, 'three pings on every connection');
      // Once per interval: the gaps between one connection's pings are about HEARTBEAT_MS (timers run late, never early).
      for (const times of pings) {
        for (let k = 1; k < 3; k++) expect(times[k]! - times[k - 1]!).toBeGreaterThan(HEARTBEAT_MS * 0.8);
      }
      // Spread: the first pings of the 20 connections (two per slice) cover most of the interval.
      const firsts = pings.map((p) => p[0]!);
      expect(Math.max(...firsts) - Math.min(...firsts)).toBeGreaterThan(HEARTBEAT_MS / 2);
      // Pinging answered connections drops none of them.
      expect(sockets.every((s) => s.ws.readyState === s.ws.OPEN)).toBe(true);
    } finally {
      for (const socket of sockets) socket.ws.terminate();
    }
  });
});
