/**
 * Subscribers in a process of their own, so that receiving their events does not slow the
 * process that offers load and times it. Arguments: <ws url> <board> <count>.
 * Prints `ready` once every socket is subscribed; answers each `report` line on stdin with
 * `{"closed": n, "frames": n}`; exits when stdin ends.
 */
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';

const [url = '', board = '', countText = '0'] = process.argv.slice(2);
const count = Number(countText);
let closed = 0;
let frames = 0;
const sockets: WebSocket[] = [];

function open(): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    sockets.push(ws);
    ws.once('error', reject);
    ws.once('open', () => {
      ws.once('message', (data) => {
        if (!data.toString().includes('"ok":true')) reject(new Error(`subscribe refused: ${data.toString().slice(0, 200)}`));
        else resolve();
        ws.on('message', () => frames++);
      });
      ws.send(JSON.stringify({ id: 1, op: 'subscribe', board, patterns: ['**'] }));
    });
    ws.once('close', () => closed++);
  });
}

async function main(): Promise<void> {
  for (let i = 0; i < count; i += 100) await Promise.all(Array.from({ length: Math.min(100, count - i) }, open));
  process.stdout.write('ready\n');
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === 'report') process.stdout.write(`${JSON.stringify({ closed, frames })}\n`);
  });
  lines.on('close', () => {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`subscriber swarm failed: ${(err as Error).message}\n`);
  process.exit(1);
});
