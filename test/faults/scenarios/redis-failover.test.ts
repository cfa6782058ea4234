import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultScenario } from '../harness/scenario.js';
import { waitUntil } from '../harness/time.js';

const REPLICA_STALL_MS = 600;

let scenario: FaultScenario;
beforeAll(async () => {
  scenario = await FaultScenario.start({ name: 'redis-failover', nodes: 1, durability: 'mixed', requestTimeoutMs: 10_000, sentinel: true });
});
afterAll(async () => {
  // The node's log, for a failure's post-mortem (test-results/ is not committed).
  if (scenario) writeFileSync('test-results/redis-failover-node.log', scenario.nodes[0]?.output() ?? '');
  await scenario?.cleanup();
});

describe('Redis primary killed; the Sentinel promotes its replica', () => {
  it('the node follows the new primary: no durable write lost, memory writes lost only with a new epoch, linearizable per epoch', async () => {
    const { workload, profile, monitor, nodes, board } = scenario;
    const sentinel = scenario.sentinel!;
    await scenario.run(async () => {
      const observer = await scenario.client(nodes[0]!.wsUrl, { agent: 'observer' });
      await scenario.begin();
      const perPhase = Math.ceil(profile.operations / (profile.rounds + 1));
      const epochsBefore: number[] = [];
      for (let round = 0; round < profile.rounds; round++) {
        await workload.more(perPhase, 120_000);
        // Replication is asynchronous: the newest memory writes may die with the primary.
        monitor.noteDataLoss();
        epochsBefore.push(monitor.changes.length);
        // The replica is frozen for a moment and the primary dies meanwhile: the writes
        // acknowledged in that moment are missing on the promoted replica.
        const failover = await sentinel.failOver(REPLICA_STALL_MS);
        expect(failover.to).not.toBe(failover.from);
        expect(failover.promotedOffset).toBeLessThan(failover.killedOffset);
        // The node serves again from the new primary (a write through it commits).
        let lastError = '';
        await waitUntil(
          async () =>
            await observer.put(board, `probe/${round}`, round).then(
              () => true,
              (err: Error) => ((lastError = err.message), false),
            ),
          60_000,
          'a write through the node after the failover',
        ).catch((err: Error) => {
          throw new Error(`${err.message} (last: ${lastError}); the node said: ${nodes[0]!.output().slice(-3_000)}`);
        });
        await workload.more(Math.ceil(perPhase / 4), 120_000);
        scenario.fault(
          `replica frozen (SIGSTOP) ${REPLICA_STALL_MS} ms and its link cut, primary :${failover.from} SIGKILLed under load meanwhile (replication offset ${failover.killedOffset}); ` +
            `the Sentinel promoted :${failover.to} ` +
            `(run_id ${failover.runIds[0].slice(0, 8)} → ${failover.runIds[1].slice(0, 8)}, offset ${failover.promotedOffset}) after ${Math.round(failover.failoverMs)} ms; ` +
            `the node wrote through the new primary; epochs announced so far: ${monitor.changes.length}`,
        );
      }
      await workload.finishAfterFaults(profile.operations, 300_000);
      const switched = nodes[0]!.output().includes('Redis is another server than before');
      scenario.evidence.push(`the node logged the switch of Redis server: ${switched}`);
      // Writes were lost with the primary each time: the board began a new epoch after each failover.
      const newEpochs = epochsBefore.every((count, round) => monitor.changes.length > count && (epochsBefore[round + 1] ?? monitor.changes.length) > count);
      scenario.evidence.push(`epochs announced: ${monitor.changes.length} after ${profile.rounds} failovers`);
      const row = await scenario.finish({ checks: { nodeNoticedTheSwitch: switched, lossAnnouncedByNewEpoch: newEpochs } });
      expect(row.faultsInjected).toBe(profile.rounds);
      expect(row.registerOperations).toBeGreaterThanOrEqual(profile.operations);
      expect(row.acknowledgedWritesLost, row.failure).toBe(0);
      expect(row.linearizable, row.failure).toBe('yes');
      expect(row.passed, row.failure).toBe(true);
      return row;
    });
  });
});
