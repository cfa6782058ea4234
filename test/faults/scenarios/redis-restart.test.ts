import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultScenario } from '../harness/scenario.js';
import { sleep, waitUntil } from '../harness/time.js';

let scenario: FaultScenario;
beforeAll(async () => {
  scenario = await FaultScenario.start({ name: 'redis-restart', nodes: 1, durability: 'mixed', requestTimeoutMs: 10_000 });
});
afterAll(() => scenario?.cleanup());

describe('Redis restarted without its data', () => {
  it('the board comes back from Postgres (or a new epoch is announced): no durable write lost, linearizable per epoch', async () => {
    const { workload, profile, redis, monitor, nodes, board } = scenario;
    // Between the restart and the end of the rebuild, `get` answers from the empty Redis
    // (NOT_FOUND for keys that exist) instead of rebuilding the board first or refusing:
    // a read that sees acknowledged writes vanish and come back in the same epoch. The full
    // profile restarts Redis once under the whole load and once with writes held and reads
    // going on (nothing is lost, so the board keeps its epoch and the whole history must be
    // linearizable), and fails on it; the quick profile holds every operation until the
    // board is rebuilt and checks everything else.
    const full = profile.name === 'full';
    await scenario.run(async () => {
      const observer = await scenario.client(nodes[0]!.wsUrl, { agent: 'observer' });
      const rebuilt = async () => (await observer.boards(board).catch(() => ({ boards: [] }))).boards.some((b) => b.board === board);
      const rebuilds: Array<{ from: number; to: number }> = [];
      await scenario.begin();
      const perPhase = Math.ceil(profile.operations / (profile.rounds + 1));
      for (let round = 0; round < profile.rounds; round++) {
        await workload.more(perPhase, 120_000);
        const mode = !full ? 'every operation held' : round === 0 ? 'under load' : 'writes held, reads going on';
        if (!full) await workload.pause();
        else if (round > 0) {
          await workload.holdWrites();
          await sleep(500); // the persister copies the last revisions: nothing unpersisted is lost
        }
        monitor.noteDataLoss();
        const lossAt = performance.now();
        const { before, after } = await redis.restartEmpty();
        expect(after.runId).not.toBe(before.runId);
        expect(after.uptimeSeconds).toBeLessThanOrEqual(1);
        await waitUntil(rebuilt, 30_000, 'the board rebuilt from Postgres');
        rebuilds.push({ from: lossAt, to: performance.now() });
        workload.resume();
        await workload.more(Math.ceil(perPhase / 4), 120_000);
        scenario.fault(
          `Redis SIGKILLed and restarted empty (${mode}): run_id ${before.runId.slice(0, 8)} → ${after.runId.slice(0, 8)}, ` +
            `uptime ${before.uptimeSeconds} s → ${after.uptimeSeconds} s, keys ${before.keys} → ${after.keys}; the board was listed again after the rebuild`,
        );
      }
      await workload.finishAfterFaults(profile.operations, 300_000);
      const row = await scenario.finish({
        explain: ({ culprit }) => {
          const window = culprit && rebuilds.find((w) => culprit.call <= w.to && (culprit.ret ?? Infinity) >= w.from);
          if (!window) return undefined;
          return `it ran between the Redis restart and the board being listed again, ${Math.round(window.from)}–${Math.round(window.to)} ms`;
        },
      });
      expect(row.faultsInjected).toBe(profile.rounds);
      expect(row.registerOperations).toBeGreaterThanOrEqual(profile.operations);
      expect(row.acknowledgedWritesLost, row.failure).toBe(0);
      expect(row.linearizable, row.failure).toBe('yes');
      expect(row.passed).toBe(true);
      return row;
    });
  });
});
