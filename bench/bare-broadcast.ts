/**
 * The fan-out baseline: a bare `ws` server that broadcasts the same bytes to every
 * client, with nothing else on the path. Runs as its own process, like the server.
 * Control: a client sends `{"go": M, "frame": "..."}`; the server broadcasts the frame M times.
 */
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.argv[2] ?? 0);
const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false });
const listeners = new Set<WebSocket>();

wss.on('connection', (ws, req) => {
  if (req.url?.includes('control')) {
    ws.on('message', async (data) => {
      const { go, frame } = JSON.parse(data.toString()) as { go: number; frame: string };
      for (let i = 0; i < go; i++) {
        for (const client of listeners) client.send(frame);
        // Yield now and then so the sockets flush, as a server handling writes would.
        if (i % 8 === 7) await new Promise((r) => setImmediate(r));
      }
    });
    return;
  }
  listeners.add(ws);
  ws.on('close', () => listeners.delete(ws));
});
wss.on('listening', () => {
  const address = wss.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : port}\n`);
});
