/**
 * Subscribers in a process of their own, so that receiving their events does not slow the
 * process that offers load and times it. Arguments: <ws url> <board> <count> [timed].
 * Prints `ready` once every socket is subscribed; answers each `report` line on stdin with
 * `{"closed": n, "frames": n}`, and with `timed`, also `"latencies"`: for every event that
 * carried a `"sentUs":` (the writer's `process.hrtime` in µs, a clock every process on the
 * machine shares), the ms from then to its arrival at each socket, gathered since the last
 * report. Exits when stdin ends.
 */
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';

const [url = '', board = '', countText = '0', timedArg = ''] = process.argv.slice(2);
const count = Number(countText);
const timed = timedArg === 'timed';
let closed = 0;
let frames = 0;
let latencies: number[] = [];
const sockets: WebSocket[] = [];
const SENT = '"sentUs":';

function record(data: Buffer): void {
  const nowUs = Number(process.hrtime.bigint() / 1000n);
  const text = data.toString();
  for (let i = text.indexOf(SENT); i !== -1; i = text.indexOf(SENT, i + SENT.length)) {
    const sent = Number.parseInt(text.slice(i + SENT.length, i + SENT.length + 20), 10);
    if (Number.isFinite(sent)) latencies.push((nowUs - sent) / 1_000);
  }
}

function open(): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    sockets.push(ws);
    ws.once('error', reject);
    ws.once('open', () => {
      ws.once('message', (data) => {
        if (!data.toString().includes('"ok":true')) reject(new Error(`subscribe refused: ${data.toString().slice(0, 200)}`));
        else resolve();
        ws.on('message', (frame) => {
          frames++;
          if (timed) record(frame as Buffer);
        });
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
    if (line.trim() !== 'report') return;
    const report = timed ? { closed, frames, latencies: latencies.map((l) => Math.round(l * 100) / 100) } : { closed, frames };
    latencies = [];
    process.stdout.write(`${JSON.stringify(report)}\n`);
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
