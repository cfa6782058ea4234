import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mintToken } from '../server/security/mint.js';
import { freePort, spawnServer } from '../test/helpers/process-server.js';
import { RawSocket } from '../test/helpers/raw-socket.js';
import { benchBoard } from './boards.js';
import type { BenchContext } from './context.js';
import { ATTACKS, type Attack, type AttackTarget } from './hostile-attacks.js';
import type { Section } from './report.js';
import { percentile, round, type Figure } from './stats.js';

/**
 * Hostile neighbour: a bystander agent writes at a steady pace (one put every 10 ms, one in
 * flight) while one connection runs each attack of docs/security.md at the most the
 * server's limits allow; its put p99 under each attack stands beside its p99 with nobody
 * else on the node, measured in the same run (a quiet phase before each attack, their
 * median as the baseline). The server is a process of its own with AUTH_MODE=jwt, run
 * once with its default limits and once with the production settings of docs/security.md.
 * Goal: p99 under attack ≤ 2 × quiet.
 */

const PACE_MS = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Phase {
  latencies: number[];
  refused: number;
  /** p99 of the bystander process's own event-loop delay, ms: when high, the timings include it. */
  loopP99: number;
}

/** The bystander process: one `phase` at a time, each answered with its figures. */
class Bystander {
  private readonly lines: string[] = [];
  private readonly waiters: Array<(line: string) => void> = [];

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(line);
      else this.lines.push(line);
    });
  }

  static async start(url: string, token: string, board: string): Promise<Bystander> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/hostile-bystander.ts', url, token, board, String(PACE_MS)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const bystander = new Bystander(child);
    const first = await bystander.next();
    if (first !== 'ready') throw new Error(`bystander did not start: ${first}`);
    return bystander;
  }

  private next(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async phase(seconds: number): Promise<Phase> {
    this.child.stdin!.write(`phase ${seconds}\n`);
    const figures = JSON.parse(await this.next()) as Phase;
    return { ...figures, latencies: figures.latencies.sort((a, b) => a - b) };
  }

  stop(): void {
    this.child.stdin!.end();
  }
}

async function underAttack(attack: Attack, target: AttackTarget, bystander: Bystander, seconds: number) {
  let stop = false;
  const running = attack.run(target, () => stop);
  // Let the attack reach its pace (its connections and subscriptions set up) before measuring.
  await sleep(500);
  const phase = await bystander.phase(seconds);
  stop = true;
  const line = await running.catch((err: unknown) => `failed: ${(err as Error).message}`);
  return { phase, line };
}

/** The limits the attacks run against: the server's defaults, and the production settings of docs/security.md. */
const LIMIT_SETS: Array<{ name: string; env: Record<string, string> }> = [
  { name: 'default limits', env: {} },
  {
    name: 'production limits of security.md',
    env: {
      RATE_LIMIT_RPS: '200',
      RATE_LIMIT_BURST: '400',
      RATE_LIMIT_CLOSE_AFTER: '200',
      RATE_LIMIT_AGENT_RPS: '400',
      RATE_LIMIT_AGENT_BYTES: String(1024 * 1024),
    },
  },
];

/** One server with one set of limits: each attack beside a quiet phase before it. */
async function runLimitSet(ctx: BenchContext, limits: (typeof LIMIT_SETS)[number], figures: Figure[], lines: string[]): Promise<void> {
  const secret = randomBytes(32).toString('hex');
  const metricsToken = randomBytes(16).toString('hex');
  const { RATE_LIMIT_RPS: _unlimited, RATE_LIMIT_AGENT_RPS: _agentUnlimited, ...env } = ctx.serverEnv;
  const port = await freePort();
  const server = await spawnServer(port, { ...env, ...limits.env, AUTH_MODE: 'jwt', JWT_SECRET: secret, METRICS_TOKEN: metricsToken });
  const token = (agent: string, scope: string) => mintToken({ sub: agent, scope, ttlSeconds: 3_600, secret });
  const target: AttackTarget = {
    port,
    metricsToken,
    token,
    board: (tag) => benchBoard(`hostile-${tag}`),
    open: async (agent, scope) => RawSocket.open(`ws://127.0.0.1:${port}/v1/ws`, { headers: { authorization: `Bearer ${await token(agent, scope)}` } }),
  };
  const seconds = ctx.plan.quick ? 1.5 : 5;
  try {
    const board = benchBoard('hostile-bystander');
    const bystander = await Bystander.start(`ws://127.0.0.1:${port}/v1/ws`, await token('bystander', `write:${board} read:${board}`), board);
    await bystander.phase(1);
    const quiet: Phase[] = [];
    const attacked: Array<{ attack: Attack; phase: Phase; line: string }> = [];
    for (const attack of ATTACKS) {
      quiet.push(await bystander.phase(seconds));
      const { phase, line } = await underAttack(attack, target, bystander, seconds);
      attacked.push({ attack, phase, line });
      // Whatever the attack left behind (closing sockets, queued work) settles before the next quiet phase.
      await sleep(1_000);
    }
    const quietP99s = quiet.map((q) => percentile(q.latencies, 99)).sort((a, b) => a - b);
    const baseline = quietP99s[Math.floor(quietP99s.length / 2)]!;
    const baselineName = `bystander alone, median of ${quiet.length} quiet phases`;
    lines.push(`With the ${limits.name}:`, '');
    for (const { attack, phase, line } of attacked) {
      const p99 = percentile(phase.latencies, 99);
      figures.push({
        name: `${limits.name}: bystander put p99 during ${attack.name}`,
        value: round(p99, 1),
        unit: 'ms',
        baseline: round(baseline, 1),
        baselineName,
        ratio: round(baseline / p99, 3),
        goal: '≥ 0.5 (≤ 2× quiet)',
      });
      lines.push(
        `- ${attack.name}: ${line}; bystander ${phase.latencies.length} puts, p50 ${round(percentile(phase.latencies, 50), 1)} ms, ` +
          `${phase.refused} refused; the bystander process's event-loop delay p99 ${round(phase.loopP99, 1)} ms.`,
      );
    }
    lines.push(
      `- Quiet phases: p99 ${quietP99s.map((v) => round(v, 1)).join(', ')} ms; ${quiet.reduce((n, q) => n + q.refused, 0)} puts refused; ` +
        `event-loop delay p99 of the bystander process ${quiet.map((q) => round(q.loopP99, 1)).join(', ')} ms.`,
      '',
    );
    bystander.stop();
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
}

export async function benchHostile(ctx: BenchContext): Promise<Section> {
  const figures: Figure[] = [];
  const lines: string[] = [];
  for (const limits of LIMIT_SETS) await runLimitSet(ctx, limits, figures, lines);
  return {
    title: 'Hostile neighbour',
    note: `A bystander puts one value every ${PACE_MS} ms (one in flight) while one connection runs each attack as hard as the server's limits allow (a RATE_LIMITED refusal is waited out; everything else is sent again at once), beside its p99 with the node to itself in the same run (a quiet phase before each attack; the baseline is their median). Twice: with the server's default limits, and with the production settings of docs/security.md. The server runs as its own process with AUTH_MODE=jwt; the attacks run in the benchmark process, the bystander in a process of its own (all on the same 2 cores). Snapshots read by scope are not attacked here. Goal: p99 under attack at most twice the quiet p99.`,
    figures,
    extra: lines.join('\n'),
  };
}
