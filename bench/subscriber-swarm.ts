/**
 * Subscribers in a process of their own, so that receiving their events does not slow the
 * process that offers load and times it. Arguments: <ws url> <board> <count> [timed].
 * Prints `ready` once every socket is subscribed; answers each `report` line on stdin with
 * `{"closed": n, "frames": n}`, and with `timed`, also `"latencies"`: for every event that
 * carried a `"sentUs":` (the writer's `process.hrtime` in µs, a clock every process on the
 * machine shares), the ms from then to its arrival at each socket, gathered since the last
 * report. Exits when stdin ends.
 *
 * Each subscriber is a bare TCP socket that speaks just enough WebSocket to subscribe, answer
 * pings and read frames (bench/frame-reader.ts): a thousand sockets in one process read an
 * event in a few µs each instead of the ~14 µs a full client takes, so the spread between the
 * first and the last subscriber is the server's, not this process's.
 */
import { createInterface } from 'node:readline';
import { FrameSocket } from './frame-reader.js';

const [url = '', board = '', countText = '0', timedArg = ''] = process.argv.slice(2);
const count = Number(countText);
const timed = timedArg === 'timed';
let closed = 0;
let frames = 0;
let latencies: number[] = [];
const sockets: FrameSocket[] = [];
const SENT = Buffer.from('"sentUs":');
const OK = Buffer.from('"ok":true');

/** Every `"sentUs":<digits>` in the frame, read straight from its bytes. */
function record(payload: Buffer, nowUs: number): void {
  for (let i = payload.indexOf(SENT); i !== -1; i = payload.indexOf(SENT, i + SENT.length)) {
    let sent = 0;
    let j = i + SENT.length;
    for (let c = payload[j]; c !== undefined && c >= 48 && c <= 57; c = payload[++j]) sent = sent * 10 + (c - 48);
    if (j > i + SENT.length) latencies.push((nowUs - sent) / 1_000);
  }
}

function open(): Promise<void> {
  return new Promise((resolve, reject) => {
    let subscribed = false;
    const socket = FrameSocket.connect(url, {
      text(payload) {
        if (!subscribed) {
          subscribed = true;
          if (payload.indexOf(OK) === -1) reject(new Error(`subscribe refused: ${payload.subarray(0, 200).toString()}`));
          else resolve();
          return;
        }
        frames++;
        if (timed) record(payload, Number(process.hrtime.bigint() / 1000n));
      },
      open: () => socket.sendText(JSON.stringify({ id: 1, op: 'subscribe', board, patterns: ['**'] })),
      error: reject,
      close: () => closed++,
    });
    sockets.push(socket);
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
    for (const socket of sockets) socket.destroy();
    process.exit(0);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`subscriber swarm failed: ${(err as Error).message}\n`);
  process.exit(1);
});
