/**
 * The hostile-neighbour bystander, in a process of its own so that the attacks the
 * benchmark process runs do not delay its timing. Arguments: <ws url> <bearer token> <board>
 * <pace ms>. Prints `ready` once connected; answers each `phase <seconds>` line on stdin
 * with `{"latencies": [ms...], "refused": n, "loopP99": ms}` after putting one value every
 * <pace ms> (one in flight) for that long; exits when stdin ends.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';

const [url = '', token = '', board = '', paceText = '10'] = process.argv.slice(2);
const pace = Number(paceText);
const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
const waiting = new Map<number, (reply: { ok: boolean }) => void>();
let nextId = 1;

ws.on('message', (data) => {
  const reply = JSON.parse(data.toString()) as { id?: number; ok: boolean };
  if (typeof reply.id === 'number') waiting.get(reply.id)?.(reply);
  if (typeof reply.id === 'number') waiting.delete(reply.id);
});

function put(value: number): Promise<{ ok: boolean }> {
  const id = nextId++;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    ws.send(JSON.stringify({ id, op: 'put', board, key: 'k', value }));
  });
}

async function phase(seconds: number): Promise<string> {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const latencies: number[] = [];
  let refused = 0;
  const end = performance.now() + seconds * 1000;
  for (let i = 0; performance.now() < end; i++) {
    const started = performance.now();
    const reply = await put(i);
    latencies.push(performance.now() - started);
    if (!reply.ok) refused++;
    await new Promise((r) => setTimeout(r, pace));
  }
  loop.disable();
  return JSON.stringify({ latencies, refused, loopP99: loop.percentile(99) / 1e6 });
}

ws.once('open', () => {
  process.stdout.write('ready\n');
  const lines = createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  lines.on('line', (line) => {
    const [command, arg] = line.trim().split(' ');
    if (command !== 'phase') return;
    queue = queue.then(async () => {
      process.stdout.write(`${await phase(Number(arg))}\n`);
    });
  });
  lines.on('close', () => {
    ws.close();
    process.exit(0);
  });
});
ws.once('error', (err) => {
  process.stderr.write(`bystander: ${err.message}\n`);
  process.exit(1);
});
