import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
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
 * flight) while one connection runs each attack of the hardening work at the most the
 * server's limits allow; its put p99 under each attack stands beside its p99 with nobody
 * else on the node, measured in the same run (a quiet phase before each attack, their
 * median as the baseline). The server is a process of its own with AUTH_MODE=jwt and
 * every limit at its default. Goal: p99 under attack ≤ 2 × quiet.
 */

const PACE_MS = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Phase {
  latencies: number[];
  refused: number;
  /** p99 of this (benchmark) process's own event-loop delay, ms: when high, the timings include it. */
  loopP99: number;
}

async function bystanderPhase(bystander: RawSocket, board: string, seconds: number): Promise<Phase> {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const latencies: number[] = [];
  let refused = 0;
  const end = performance.now() + seconds * 1000;
  for (let i = 0; performance.now() < end; i++) {
    const started = performance.now();
    const reply = await bystander.call('put', { board, key: 'k', value: i });
    latencies.push(performance.now() - started);
    if (reply.ok !== true) refused++;
    bystander.messages.length = 0;
    await sleep(PACE_MS);
  }
  loop.disable();
  return { latencies: latencies.sort((a, b) => a - b), refused, loopP99: loop.percentile(99) / 1e6 };
}

async function underAttack(attack: Attack, target: AttackTarget, bystander: RawSocket, board: string, seconds: number) {
  let stop = false;
  const running = attack.run(target, () => stop);
  // Let the attack reach its pace (its connections and subscriptions set up) before measuring.
  await sleep(500);
  const phase = await bystanderPhase(bystander, board, seconds);
  stop = true;
  const line = await running.catch((err: unknown) => `failed: ${(err as Error).message}`);
  return { phase, line };
}

export async function benchHostile(ctx: BenchContext): Promise<Section> {
  const secret = randomBytes(32).toString('hex');
  const metricsToken = randomBytes(16).toString('hex');
  const { RATE_LIMIT_RPS: _unlimited, ...env } = ctx.serverEnv;
  const port = await freePort();
  const server = await spawnServer(port, { ...env, AUTH_MODE: 'jwt', JWT_SECRET: secret, METRICS_TOKEN: metricsToken });
  const token = (agent: string, scope: string) => mintToken({ sub: agent, scope, ttlSeconds: 3_600, secret });
  const target: AttackTarget = {
    port,
    metricsToken,
    token,
    board: (tag) => benchBoard(`hostile-${tag}`),
    open: async (agent, scope) =>
      RawSocket.open(`ws://127.0.0.1:${port}/v1/ws`, { headers: { authorization: `Bearer ${await token(agent, scope)}` } }),
  };
  const seconds = ctx.plan.quick ? 1.5 : 5;
  const figures: Figure[] = [];
  const lines: string[] = [];
  try {
    const board = benchBoard('hostile-bystander');
    const bystander = await target.open('bystander', `write:${board} read:${board}`);
    await bystanderPhase(bystander, board, 1);
    const quiet: Phase[] = [];
    const attacked: Array<{ attack: Attack; phase: Phase; line: string }> = [];
    for (const attack of ATTACKS) {
      quiet.push(await bystanderPhase(bystander, board, seconds));
      const { phase, line } = await underAttack(attack, target, bystander, board, seconds);
      attacked.push({ attack, phase, line });
      // Whatever the attack left behind (closing sockets, queued work) settles before the next quiet phase.
      await sleep(1_000);
    }
    const quietP99s = quiet.map((q) => percentile(q.latencies, 99)).sort((a, b) => a - b);
    const baseline = quietP99s[Math.floor(quietP99s.length / 2)]!;
    const baselineName = `bystander alone, median of ${quiet.length} quiet phases`;
    for (const { attack, phase, line } of attacked) {
      const p99 = percentile(phase.latencies, 99);
      figures.push({
        name: `bystander put p99 during: ${attack.name}`,
        value: round(p99, 1),
        unit: 'ms',
        baseline: round(baseline, 1),
        baselineName,
        ratio: round(baseline / p99, 3),
        goal: '≥ 0.5 (≤ 2× quiet)',
      });
      lines.push(
        `- ${attack.name}: ${line}; bystander ${phase.latencies.length} puts, p50 ${round(percentile(phase.latencies, 50), 1)} ms, ` +
          `${phase.refused} refused; this process's event-loop delay p99 ${round(phase.loopP99, 1)} ms.`,
      );
    }
    lines.push(
      `- Quiet phases: p99 ${quietP99s.map((v) => round(v, 1)).join(', ')} ms; ${quiet.reduce((n, q) => n + q.refused, 0)} puts refused; ` +
        `event-loop delay p99 of this process ${quiet.map((q) => round(q.loopP99, 1)).join(', ')} ms.`,
    );
    bystander.close();
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  return {
    title: 'Hostile neighbour',
    note: `A bystander puts one value every ${PACE_MS} ms (one in flight) for ${seconds} s while one connection runs each attack as hard as the server's default limits allow, beside its p99 with the node to itself in the same run (a quiet phase before each attack). The server runs as its own process with AUTH_MODE=jwt and default limits; the attacks run in the benchmark process, which also times the bystander. Snapshots read by scope are not attacked here. Goal: p99 under attack at most twice the quiet p99.`,
    figures,
    extra: lines.join('\n'),
  };
}
