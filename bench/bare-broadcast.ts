/**
 * The fan-out baseline: a bare `ws` server that broadcasts the same bytes to every
 * client, with nothing else on the path. Runs as its own process, like the server.
 * Control: a client sends `{"go": M, "frame": "..."}`; the server broadcasts the frame M times.
 * `{"once": "..."}` broadcasts that frame once, at once, as one Buffer shared by every
 * client (the light-load baseline: one frame per write, as it arrives).
 * Any other client is a listener; whatever it sends (a subscribe) is answered `ok`.
 */
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.argv[2] ?? 0);
const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false });
const listeners = new Set<WebSocket>();
const TEXT = { binary: false } as const;

wss.on('connection', (ws, req) => {
  if (req.url?.includes('control')) {
    ws.on('message', async (data) => {
      const message = JSON.parse(data.toString()) as { go?: number; frame?: string; once?: string };
      if (message.once !== undefined) {
        const frame = Buffer.from(message.once);
        for (const client of listeners) client.send(frame, TEXT);
        return;
      }
      const { go = 0, frame = '' } = message;
      for (let i = 0; i < go; i++) {
        for (const client of listeners) client.send(frame);
        // Yield now and then so the sockets flush, as a server handling writes would.
        if (i % 8 === 7) await new Promise((r) => setImmediate(r));
      }
    });
    return;
  }
  listeners.add(ws);
  ws.on('message', (data) => {
    const { id } = JSON.parse(data.toString()) as { id?: number };
    ws.send(`{"id":${Number(id) || 0},"ok":true,"result":{}}`);
  });
  ws.on('close', () => listeners.delete(ws));
});
wss.on('listening', () => {
  const address = wss.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : port}\n`);
});
