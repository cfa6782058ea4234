import { createServer, Socket, type Server } from 'node:net';
import { freePort } from '../../helpers/process-server.js';
import type { TcpProxy } from '../../helpers/tcp-proxy.js';

/**
 * A TCP proxy that injects network faults between two processes: clients and a server
 * node, or a server node and Redis. It keeps the `TcpProxy` contract of
 * test/helpers/tcp-proxy.ts (close: refuse and cut; open: accept again) and adds the
 * faults that one cannot express: stalls (half-open links) and resets.
 *
 * - drop: destroys every open connection (both sides see a FIN).
 * - reset: destroys every open connection with a TCP RST.
 * - stall: stops forwarding in both directions while keeping every socket open, so each
 *   peer sees a silent link (half-open from its view); new connections are accepted and
 *   stalled too. Data keeps being read and is held (up to HOLD_LIMIT bytes per link and
 *   direction, then reading stops and TCP backpressure reaches the sender), so a peer
 *   closing during the stall is seen: it is counted and the other side is left untouched
 *   until `resume`, as a real dead link would leave it. `resume` delivers what was held,
 *   as TCP retransmission would once the link came back.
 * Every action is counted, so a scenario can prove its fault fired.
 */
export interface FaultProxy extends TcpProxy {
  readonly counts: Readonly<ProxyCounts>;
  /** Connections currently open through the proxy. */
  readonly openConnections: number;
  drop(): number;
  reset(): number;
  stall(): void;
  resume(): void;
  /** Stops listening and destroys everything; the proxy cannot be used again. */
  shutdown(): Promise<void>;
}

export interface ProxyCounts {
  accepted: number;
  drops: number;
  /** Connections destroyed by `drop` (and `close`). */
  droppedConnections: number;
  resets: number;
  resetConnections: number;
  stalls: number;
  /** Connections the target side closed while stalled: proof that the server gave up on a silent peer. */
  targetClosedWhileStalled: number;
  clientClosedWhileStalled: number;
  /** New connections refused while closed. */
  refused: number;
  /** Upstream connects that failed (the target was down). */
  upstreamFailures: number;
}

/** Bytes held per link and direction during a stall before the proxy stops reading. */
const HOLD_LIMIT = 1024 * 1024;

interface Link {
  client: Socket;
  upstream: Socket;
  /** Chunks read during a stall, in order, forwarded on resume. */
  held: Array<{ to: Socket; chunk: Buffer }>;
  heldBytes: Map<Socket, number>;
  clientClosed: boolean;
  upstreamClosed: boolean;
}

export async function startFaultProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
  const port = await freePort();
  const links = new Set<Link>();
  const counts: ProxyCounts = {
    accepted: 0,
    drops: 0,
    droppedConnections: 0,
    resets: 0,
    resetConnections: 0,
    stalls: 0,
    targetClosedWhileStalled: 0,
    clientClosedWhileStalled: 0,
    refused: 0,
    upstreamFailures: 0,
  };
  let stalled = false;
  let refusing = false;

  const destroy = (link: Link, rst = false): void => {
    links.delete(link);
    for (const socket of [link.client, link.upstream]) {
      if (socket.destroyed) continue;
      if (rst && typeof socket.resetAndDestroy === 'function' && socket.readyState === 'open') socket.resetAndDestroy();
      else socket.destroy();
    }
  };

  const forward = (link: Link, from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (stalled) {
        link.held.push({ to, chunk });
        const bytes = (link.heldBytes.get(from) ?? 0) + chunk.length;
        link.heldBytes.set(from, bytes);
        if (bytes >= HOLD_LIMIT) from.pause();
        return;
      }
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (!stalled) from.resume();
    });
  };

  const sideClosed = (link: Link, side: 'client' | 'upstream'): void => {
    if (side === 'client') {
      if (link.clientClosed) return;
      link.clientClosed = true;
    } else {
      if (link.upstreamClosed) return;
      link.upstreamClosed = true;
    }
    if (!links.has(link)) return;
    if (stalled) {
      // A dead link tells the other side nothing; resume() settles it.
      if (side === 'upstream') counts.targetClosedWhileStalled++;
      else counts.clientClosedWhileStalled++;
      return;
    }
    destroy(link);
  };

  const server: Server = createServer((client) => {
    if (refusing) {
      counts.refused++;
      client.on('error', () => undefined);
      client.destroy();
      return;
    }
    counts.accepted++;
    const upstream = new Socket();
    const link: Link = { client, upstream, held: [], heldBytes: new Map(), clientClosed: false, upstreamClosed: false };
    links.add(link);
    client.setNoDelay(true);
    client.pause();
    client.on('error', () => undefined).on('close', () => sideClosed(link, 'client'));
    upstream.on('error', () => undefined).on('close', () => sideClosed(link, 'upstream'));
    let connected = false;
    upstream.once('error', () => {
      if (!connected) counts.upstreamFailures++;
    });
    upstream.connect(targetPort, targetHost, () => {
      connected = true;
      upstream.setNoDelay(true);
      forward(link, client, upstream);
      forward(link, upstream, client);
      client.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  const drop = (): number => {
    counts.drops++;
    const n = links.size;
    counts.droppedConnections += n;
    for (const link of [...links]) destroy(link);
    return n;
  };

  const proxy: FaultProxy = {
    port,
    counts,
    get openConnections() {
      return links.size;
    },
    drop,
    reset() {
      counts.resets++;
      const n = links.size;
      counts.resetConnections += n;
      for (const link of [...links]) destroy(link, true);
      return n;
    },
    stall() {
      if (stalled) return;
      stalled = true;
      counts.stalls++;
    },
    resume() {
      if (!stalled) return;
      stalled = false;
      for (const link of [...links]) {
        if (link.clientClosed || link.upstreamClosed) {
          destroy(link);
          continue;
        }
        for (const { to, chunk } of link.held.splice(0)) to.write(chunk);
        link.heldBytes.clear();
        if (!link.upstream.connecting) {
          link.client.resume();
          link.upstream.resume();
        }
      }
    },
    async close() {
      refusing = true;
      drop();
    },
    async open() {
      refusing = false;
    },
    async shutdown() {
      refusing = true;
      stalled = false;
      for (const link of [...links]) destroy(link);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    [Symbol.asyncDispose]() {
      return proxy.shutdown();
    },
  };
  return proxy;
}
