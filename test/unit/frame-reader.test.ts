import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { FrameSocket } from '../../bench/frame-reader.js';

/**
 * The bench's bare-socket subscriber against a real `ws` server: the upgrade, text frames of
 * each length encoding (7-bit, 16-bit, 64-bit), frames split across reads and many in one
 * read, its own frames read by the server, and pings answered so the server keeps it.
 */
describe('FrameSocket', () => {
  let wss: WebSocketServer;
  let url: string;
  const peers: WebSocket[] = [];
  const received: string[] = [];
  let pongs = 0;

  beforeAll(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    wss.on('connection', (ws) => {
      peers.push(ws);
      ws.on('message', (data) => received.push(data.toString()));
      ws.on('pong', () => pongs++);
    });
    await new Promise((r) => wss.once('listening', r));
    const address = wss.address();
    url = `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1/ws?x=1`;
  });
  afterAll(async () => {
    await new Promise((r) => wss.close(r));
  });

  it('reads every text frame whole, whatever its length and however the bytes arrive', async () => {
    const texts: string[] = [];
    let opened = false;
    const socket = FrameSocket.connect(url, {
      open: () => (opened = true),
      text: (payload) => texts.push(payload.toString()),
      error: (err) => texts.push(`error ${err.message}`),
      close: () => undefined,
    });
    while (!opened || peers.length === 0) await new Promise((r) => setTimeout(r, 5));
    const peer = peers[peers.length - 1]!;
    const sizes = [0, 1, 125, 126, 1_000, 65_535, 65_536, 300_000];
    const sent = sizes.map((n, i) => `${i}:${'x'.repeat(n)}`);
    // Many frames in one write, then one large enough that TCP hands it over in pieces.
    for (const text of sent) peer.send(text);
    socket.sendText('{"id":1}');
    peer.ping('are you there');
    while (texts.length < sent.length || pongs === 0 || received.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(texts).toEqual(sent);
    expect(received).toEqual(['{"id":1}']);
    expect(pongs).toBe(1);
    socket.destroy();
  });

  it('reports a refused upgrade as an error', async () => {
    const refusing = createServer();
    refusing.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'));
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    const address = refusing.address();
    const errors: string[] = [];
    const socket = FrameSocket.connect(`ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`, {
      open: () => errors.push('opened'),
      text: () => undefined,
      error: (err) => errors.push(err.message),
      close: () => undefined,
    });
    while (errors.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(errors[0]).toMatch(/^upgrade refused: HTTP\/1.1 403/);
    socket.destroy();
    await new Promise((r) => refusing.close(r));
  });
});
