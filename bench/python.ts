import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { benchBoard } from './boards.js';
import { admitted, connectClient, type BenchContext } from './context.js';
import { sampleValue } from './fanout.js';
import { round, runConcurrent, throughputFigures, type Figure } from './stats.js';
import type { Section } from './report.js';

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
/** Keys per `txn` in the fan-out part: each revision is that many events, so events outpace writes. */
const KEYS_PER_TXN = 50;

/** The Python client in a process of its own (bench/python_client.py), driven line by line. */
class PythonClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: Array<(reply: Record<string, unknown>) => void> = [];
  private stderr = '';

  constructor() {
    this.child = spawn(PYTHON, ['bench/python_client.py'], { env: { ...process.env, PYTHONPATH: 'client/python' } });
    createInterface({ input: this.child.stdout }).on('line', (line) => this.waiting.shift()?.(JSON.parse(line) as Record<string, unknown>));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2_000)));
    this.child.once('exit', (code) => {
      for (const resolve of this.waiting.splice(0)) resolve({ error: `python exited with ${code}: ${this.stderr}` });
    });
  }

  /** The next reply line (replies come in the order of the commands that cause them). */
  next(what = 'a reply'): Promise<Record<string, unknown>> {
    const reply = new Promise<Record<string, unknown>>((resolve) => this.waiting.push(resolve)).then((r) => {
      if (typeof r.error === 'string') throw new Error(r.error);
      return r;
    });
    return within(reply, `the Python client, waiting for ${what}`).catch((err: unknown) => {
      throw new Error(`${(err as Error).message} (its stderr: ${this.stderr.slice(-300)})`);
    });
  }

  send(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    const reply = this.next(`${String(command.cmd)}${command.inFlight ? ` at ${String(command.inFlight)} in flight` : ''}`);
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
    return reply;
  }

  /** Writes refused with RATE_LIMITED (and sent again by the client), over the section. */
  refused = 0;

  async put(board: string, inFlight: number, count: number): Promise<{ latencies: number[]; seconds: number }> {
    const r = await this.send({ cmd: 'put', board, inFlight, count });
    this.refused += Number(r.refused ?? 0);
    return { latencies: (r.latencies as number[]).sort((a, b) => a - b), seconds: r.seconds as number };
  }

  close(): void {
    this.child.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    setTimeout(() => this.child.kill('SIGKILL'), 5_000).unref();
  }
}

function combine(runs: Array<{ latencies: number[]; seconds: number }>): { latencies: number[]; seconds: number } {
  return { latencies: runs.flatMap((r) => r.latencies).sort((a, b) => a - b), seconds: runs.reduce((s, r) => s + r.seconds, 0) };
}

const nowMs = () => performance.timeOrigin + performance.now();

/** Every wait of this section is bounded: a stuck client fails the section instead of the run. */
function within<T>(promise: Promise<T>, what: string, ms = 180_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The Python client beside the TypeScript SDK, in the same run against the same server:
 * `put` at 1 and 64 in flight (the two take turns, a quarter of the operations each per
 * round), and how fast one subscribed client takes in a board's events.
 */
export async function benchPython(ctx: BenchContext): Promise<Section> {
  const python = new PythonClient();
  const sdk = await connectClient(ctx.url);
  const writer = await connectClient(ctx.url);
  const figures: Figure[] = [];
  try {
    await python.send({ cmd: 'connect', url: ctx.url });
    const warm = benchBoard('py-warm');
    await python.put(warm, 64, ctx.plan.count(5_000));
    python.refused = 0;
    await runConcurrent(ctx.plan.count(5_000), 64, (i) => admitted(() => sdk.put(warm, `w/${i % 100}`, sampleValue)));

    for (const [inFlight, total] of [
      [1, ctx.plan.count(2_000)],
      [64, ctx.plan.count(20_000)],
    ] as const) {
      const rounds = 4;
      const share = Math.max(1, Math.round(total / rounds));
      const runs: Record<'py' | 'ts', Array<{ latencies: number[]; seconds: number }>> = { py: [], ts: [] };
      for (let r = 0; r < rounds; r++) {
        const tsBoard = benchBoard('py-ts');
        runs.ts.push(await runConcurrent(share, inFlight, (i) => admitted(() => sdk.put(tsBoard, `k/${i % 100}`, sampleValue))));
        runs.py.push(await python.put(benchBoard('py-py'), inFlight, share));
      }
      const goal = inFlight === 64 ? '≥ 50% of the TypeScript SDK' : undefined;
      figures.push(...throughputFigures(`put, ${inFlight} in flight, Python client`, combine(runs.py), combine(runs.ts), 'TypeScript SDK', goal));
    }

    // Fan-out: revisions of KEYS_PER_TXN events each, written at 16 in flight, to one subscriber.
    const txns = ctx.plan.count(400);
    const expected = txns * KEYS_PER_TXN;
    const ops = Array.from({ length: KEYS_PER_TXN }, (_, k) => ({ op: 'put' as const, key: `k/${k}`, value: sampleValue }));
    const write = async (board: string) => {
      await runConcurrent(txns, 16, () => admitted(() => writer.txn(board, { compare: [], ops })));
    };
    const live: Record<'py' | 'ts', number[]> = { py: [], ts: [] };
    const replay: Record<'py' | 'ts', number[]> = { py: [], ts: [] };
    const tsReceive = async (board: string, fromRev?: number): Promise<{ sub: string; done: Promise<number> }> => {
      let received = 0;
      let finish: (at: number) => void = () => undefined;
      const done = new Promise<number>((resolve) => (finish = resolve));
      const args = fromRev === undefined ? { board, patterns: ['**'] } : { board, patterns: ['**'], fromRev };
      const { sub } = await sdk.subscribe(args, {
        events: (events) => {
          received += events.length;
          if (received >= expected) finish(nowMs());
        },
      });
      return { sub, done };
    };
    for (let r = 0; r < 2; r++) {
      const pyBoard = benchBoard('py-fan');
      // Writes start once the subscription is in place: it delivers only what is written after it.
      await python.send({ cmd: 'subscribe', board: pyBoard, expect: expected });
      const pyDone = python.next('the live events');
      const pyStart = nowMs();
      await write(pyBoard);
      live.py.push(expected / ((((await pyDone).lastAt as number) - pyStart) / 1000));

      const tsBoard = benchBoard('ts-fan');
      const ts = await tsReceive(tsBoard);
      const tsStart = nowMs();
      await write(tsBoard);
      live.ts.push(expected / (((await within(ts.done, 'the TypeScript subscriber')) - tsStart) / 1000));
      await sdk.unsubscribe(ts.sub);

      // The same events again, replayed from revision 1 as fast as each client takes them in.
      const pyReplay = await python.send({ cmd: 'replay', board: pyBoard, expect: expected });
      replay.py.push(expected / (pyReplay.seconds as number));
      const replayStart = nowMs();
      const again = await tsReceive(pyBoard, 1);
      replay.ts.push(expected / (((await within(again.done, 'the TypeScript replay')) - replayStart) / 1000));
      await sdk.unsubscribe(again.sub);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    for (const [name, rates] of [
      [`events received live by one subscriber (${txns} txns of ${KEYS_PER_TXN} keys, 16 in flight), Python client`, live],
      [`events received replaying ${expected} events (fromRev 1), Python client`, replay],
    ] as const) {
      const py = mean(rates.py);
      const ts = mean(rates.ts);
      figures.push({ name, value: round(py, 0), unit: 'events/s', baseline: round(ts, 0), baselineName: 'TypeScript SDK', ratio: round(py / ts, 3) });
    }
  } finally {
    python.close();
    sdk.close();
    writer.close();
  }
  const refusedNote =
    python.refused > 0
      ? ` The Python client's puts were refused ${python.refused} times with RATE_LIMITED by write admission and sent again after \`retryAfterMs\` (never sooner); its figures include those waits.`
      : '';
  return {
    title: 'Python client',
    note: `The Python client (client/python: asyncio and websockets, on ${PYTHON}) in a process of its own, beside the TypeScript SDK in the benchmark process, against the same server in the same run. put: the two take turns, a quarter of the operations each per round. Events: one client subscribed to \`**\` of a board while another writes \`txn\`s of ${KEYS_PER_TXN} keys; the rate is events over the time from the first write to the last event received (the TypeScript subscriber shares its process with the writer). Replay: the same events again with \`fromRev: 1\`, over the time from the subscribe to the last event, which measures how fast each client takes events in. Goal: Python ≥ 0.5 of the TypeScript SDK's put rate at 64 in flight.${refusedNote}`,
    figures,
  };
}
