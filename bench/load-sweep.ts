import { monitorEventLoopDelay } from 'node:perf_hooks';
import { benchBoard } from './boards.js';
import type { BenchContext } from './context.js';
import { closeAll, openAll, seqsIn, subscribeAll, wsUrl } from './sockets.js';
import { startSwarm } from './swarm.js';
import { percentile, round, type Figure } from './stats.js';

/**
 * Latency against offered load. With S subscribers on one board, writes are offered open
 * loop (a timer issues them at the rate whatever the replies do) for a few seconds per
 * rate. Recorded per rate: acknowledgement p50/p99 of committed writes, event delivery p99
 * (write sent → event received, at a sample of subscribers living in this process, so
 * one clock times both ends), and the share refused with RATE_LIMITED by write admission.
 * The other subscribers run in a child process of their own.
 */

export interface SweepPoint {
  offered: number;
  issued: number;
  committed: number;
  /** Refused with RATE_LIMITED: by write admission, or by the per-connection in-flight bound. */
  refused: number;
  refusedByAdmission: number;
  failed: number;
  /** Committed writes per second, from the first write sent to the last one acknowledged. */
  accepted: number;
  ackP50: number;
  ackP99: number;
  eventP99: number;
  eventsMissing: number;
  /** p99 event-loop delay of this (the load-generating) process: when high, it delayed the timings. */
  generatorLagP99: number;
}

interface Pending {
  sentAt: number;
  step: StepState;
}

interface StepState {
  ack: number[];
  events: number[];
  replies: number;
  committed: number;
  refused: number;
  refusedByAdmission: number;
  failed: number;
  arrivals: number;
  lastAckAt: number;
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done() && performance.now() < deadline) await settle(10);
}

export async function runSweep(ctx: BenchContext): Promise<{ points: SweepPoint[]; goal: SweepPoint | null; capacity: number; dropped: number }> {
  const { subscribers, sampled, rates, stepSeconds, writers: writerCount } = ctx.plan.sweep;
  const board = benchBoard('sweep');
  const url = wsUrl(ctx.url);
  const swarm = await startSwarm(url, board, subscribers - sampled);
  const samples = await openAll(Array.from({ length: sampled }, () => url));
  const writers = await openAll(Array.from({ length: writerCount }, () => url));
  const pending = new Map<number, Pending>();
  const bySeq = new Map<number, Pending>();
  let samplesClosed = 0;
  try {
    await subscribeAll(samples, board);
    for (const ws of samples) {
      ws.once('close', () => samplesClosed++);
      ws.on('message', (data) => {
        const now = performance.now();
        for (const seq of seqsIn(data.toString())) {
          const sent = bySeq.get(seq);
          if (!sent) continue;
          sent.step.events.push(now - sent.sentAt);
          sent.step.arrivals++;
        }
      });
    }
    for (const ws of writers) {
      ws.on('message', (data) => {
        const now = performance.now();
        const reply = JSON.parse(data.toString()) as { id?: number; ok?: boolean; error?: { code?: string; details?: { reason?: string } } };
        const entry = pending.get(reply.id ?? -1);
        if (!entry) return;
        pending.delete(reply.id!);
        entry.step.replies++;
        if (reply.ok) {
          entry.step.committed++;
          entry.step.ack.push(now - entry.sentAt);
          entry.step.lastAckAt = now;
        } else if (reply.error?.code === 'RATE_LIMITED') {
          entry.step.refused++;
          if (reply.error.details?.reason === 'overload') entry.step.refusedByAdmission++;
        } else entry.step.failed++;
      });
    }

    let nextId = 1;
    const offer = async (rate: number): Promise<SweepPoint> => {
      const step: StepState = { ack: [], events: [], replies: 0, committed: 0, refused: 0, refusedByAdmission: 0, failed: 0, arrivals: 0, lastAckAt: 0 };
      const lag = monitorEventLoopDelay({ resolution: 5 });
      lag.enable();
      const seqs: number[] = [];
      const windowMs = stepSeconds * 1_000;
      const t0 = performance.now();
      let issued = 0;
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          const elapsed = Math.min(performance.now() - t0, windowMs);
          const due = Math.floor((elapsed / 1_000) * rate);
          for (; issued < due; issued++) {
            const id = nextId++;
            const entry = { sentAt: performance.now(), step };
            pending.set(id, entry);
            bySeq.set(id, entry);
            seqs.push(id);
            const frame = { id, op: 'put', board, key: `k/${id % 100}`, value: { seq: id, notes: 'a small agent state value' } };
            writers[id % writers.length]!.send(JSON.stringify(frame));
          }
          if (elapsed >= windowMs) {
            clearInterval(timer);
            resolve();
          }
        }, 1);
      });
      await until(() => step.replies >= issued, 20_000);
      await until(() => step.arrivals >= step.committed * (samples.length - samplesClosed), 20_000);
      lag.disable();
      const busySeconds = Math.max(windowMs, step.lastAckAt - t0) / 1_000;
      for (const seq of seqs) bySeq.delete(seq);
      step.ack.sort((a, b) => a - b);
      step.events.sort((a, b) => a - b);
      return {
        offered: rate,
        issued,
        committed: step.committed,
        refused: step.refused,
        refusedByAdmission: step.refusedByAdmission,
        failed: step.failed + (issued - step.replies),
        accepted: step.committed / busySeconds,
        ackP50: percentile(step.ack, 50),
        ackP99: percentile(step.ack, 99),
        eventP99: percentile(step.events, 99),
        eventsMissing: Math.max(0, step.committed * samples.length - step.arrivals),
        generatorLagP99: lag.percentile(99) / 1e6,
      };
    };

    const points: SweepPoint[] = [];
    for (const rate of rates) {
      process.stderr.write(`bench:   offering ${rate} writes/s for ${stepSeconds} s\n`);
      points.push(await offer(rate));
      await settle(1_500);
    }
    const capacity = Math.max(...points.map((p) => p.accepted));
    let goal: SweepPoint | null = null;
    if (capacity > 0) {
      const twice = Math.round(2 * capacity);
      process.stderr.write(`bench:   offering ${twice} writes/s (twice the saturating ${Math.round(capacity)}/s)\n`);
      goal = await offer(twice);
    }
    const { closed } = await swarm.report();
    return { points, goal, capacity, dropped: closed + samplesClosed };
  } finally {
    closeAll([...samples, ...writers]);
    await swarm.stop();
  }
}

export function sweepFigures(sweep: Awaited<ReturnType<typeof runSweep>>, subscribers: number): Figure[] {
  const figures: Figure[] = [
    { name: `saturating write rate with ${subscribers} subscribers (most committed/s seen)`, value: round(sweep.capacity, 0), unit: 'writes/s' },
  ];
  const goal = sweep.goal;
  if (goal) {
    figures.push(
      { name: `ack p99 at twice that (${goal.offered} writes/s offered)`, value: round(goal.ackP99, 1), unit: 'ms', goal: '< 100 ms' },
      { name: 'share refused with RATE_LIMITED at twice that', value: round(goal.refused / Math.max(1, goal.issued), 3), unit: '', goal: 'the excess (≈ 0.5)' },
      {
        name: '… of which by write admission (the rest: in-flight bound per connection)',
        value: round(goal.refusedByAdmission / Math.max(1, goal.issued), 3),
        unit: '',
      },
      { name: 'event delivery p99 at twice that', value: round(goal.eventP99, 1), unit: 'ms' },
    );
  }
  if (sweep.dropped > 0) figures.push({ name: 'subscribers closed during the sweep (slow consumer)', value: sweep.dropped, unit: '' });
  return figures;
}

/** The per-rate rows, as a Markdown table; the step at twice the saturating rate is marked. */
export function sweepTable(points: SweepPoint[], goal: SweepPoint | null): string {
  const lines = [
    '| offered writes/s | committed/s | refused (by admission) | ack p50 | ack p99 | event p99 | events missing | generator lag p99 |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const rows = [...points, ...(goal ? [goal] : [])].sort((a, b) => a.offered - b.offered);
  for (const p of rows) {
    const share = (n: number) => `${round((p.issued === 0 ? 0 : n / p.issued) * 100, 1)}%`;
    lines.push(
      `| ${p.offered}${p === goal ? ' (2× saturation)' : ''} | ${round(p.accepted, 0)} | ${share(p.refused)} (${share(p.refusedByAdmission)}) | ${round(p.ackP50, 1)} ms | ${round(p.ackP99, 1)} ms | ${round(p.eventP99, 1)} ms | ${p.eventsMissing} | ${round(p.generatorLagP99, 1)} ms |`,
    );
  }
  return lines.join('\n');
}
