import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultScenario } from '../harness/scenario.js';

let scenario: FaultScenario;
beforeAll(async () => {
  scenario = await FaultScenario.start({
    name: 'server-kill',
    nodes: 2,
    durability: 'mixed',
    // A killed node's pending history entries are claimed by the survivor after this long.
    serverEnv: { PERSIST_CLAIM_MS: '1000' },
  });
});
afterAll(() => scenario?.cleanup());

describe('server nodes SIGKILLed under load', () => {
  it('two SIGKILLs: nothing acknowledged is lost and the history is linearizable', async () => {
    const { workload, profile, nodes } = scenario;
    await scenario.run(async () => {
      await scenario.begin();
      // Each kill hits a different node while clients spread over both; the other node carries on.
      const perPhase = Math.ceil(profile.operations / 3);
      for (const node of [nodes[0]!, nodes[1]!]) {
        await workload.more(perPhase, 120_000);
        const killed = await node.kill();
        await workload.more(Math.ceil(perPhase / 4), 120_000);
        const restarted = await node.spawn();
        expect(restarted).not.toBe(killed);
        scenario.fault(`SIGKILL node :${node.port} pid ${killed} → restarted as pid ${restarted}`);
      }
      await workload.finishAfterFaults(profile.operations, 300_000);
      expect(nodes.map((n) => n.pids.length)).toEqual([2, 2]);
      const row = await scenario.finish();
      expect(row.faultsInjected).toBe(2);
      expect(row.registerOperations).toBeGreaterThanOrEqual(profile.operations);
      expect(row.acknowledgedWritesLost).toBe(0);
      expect(row.linearizable, row.failure).toBe('yes');
      expect(row.passed).toBe(true);
      return row;
    });
  });
});
