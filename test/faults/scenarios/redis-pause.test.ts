import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultScenario } from '../harness/scenario.js';

const PAUSE_MS = 5_000;

let scenario: FaultScenario;
beforeAll(async () => {
  scenario = await FaultScenario.start({ name: 'redis-pause', nodes: 1, durability: 'mixed', requestTimeoutMs: 12_000 });
});
afterAll(() => scenario?.cleanup());

describe('Redis paused for 5 s (CLIENT PAUSE ALL)', () => {
  it('requests wait or time out as unknown; nothing acknowledged is lost; the history is linearizable', async () => {
    const { workload, profile, redis } = scenario;
    await scenario.run(async () => {
      await scenario.begin();
      const perPhase = Math.ceil(profile.operations / (profile.rounds + 1));
      for (let round = 0; round < profile.rounds; round++) {
        await workload.more(perPhase, 120_000);
        const before = await redis.identity();
        const { heldMs } = await redis.pause(PAUSE_MS);
        const after = await redis.identity();
        // The pause held a command from another connection for most of its length, and Redis did not restart.
        expect(heldMs).toBeGreaterThan(PAUSE_MS * 0.8);
        expect(after.runId).toBe(before.runId);
        scenario.fault(`CLIENT PAUSE ${PAUSE_MS} ALL: a probe command was held ${Math.round(heldMs)} ms (run_id ${after.runId.slice(0, 8)} unchanged)`);
      }
      await workload.finishAfterFaults(profile.operations, 300_000);
      // The server felt it: requests in flight during the pause waited for Redis.
      const held = scenario.history.slowerThan(PAUSE_MS / 2);
      scenario.evidence.push(`${held} register operations took over ${PAUSE_MS / 2} ms`);
      const row = await scenario.finish({ checks: { requestsWaitedForRedis: held > 0 } });
      expect(row.faultsInjected).toBe(profile.rounds);
      expect(row.registerOperations).toBeGreaterThanOrEqual(profile.operations);
      expect(row.acknowledgedWritesLost).toBe(0);
      expect(row.linearizable, row.failure).toBe('yes');
      expect(held).toBeGreaterThan(0);
      expect(row.passed).toBe(true);
      return row;
    });
  });
});
