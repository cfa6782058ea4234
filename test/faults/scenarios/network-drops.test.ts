import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultScenario } from '../harness/scenario.js';
import { waitUntil } from '../harness/time.js';

let scenario: FaultScenario;
beforeAll(async () => {
  scenario = await FaultScenario.start({
    name: 'network-drops',
    nodes: 1,
    durability: 'mixed',
    clientProxy: true,
    redisProxy: true,
    requestTimeoutMs: 8_000,
  });
});
afterAll(() => scenario?.cleanup());

describe('network drops between clients and server, and between server and Redis', () => {
  it('connections dropped and reset mid-request: writes resent by reqId apply once; nothing lost; linearizable', async () => {
    const { workload, profile } = scenario;
    const clients = scenario.proxies.client!;
    const redis = scenario.proxies.redis!;
    await scenario.run(async () => {
      await scenario.begin();
      const faults = [
        { name: 'client connections dropped (FIN)', inject: () => clients.drop(), proxy: clients },
        { name: 'client connections reset (RST)', inject: () => clients.reset(), proxy: clients },
        { name: 'server→Redis connections reset (RST)', inject: () => redis.reset(), proxy: redis },
        { name: 'server→Redis connections dropped (FIN)', inject: () => redis.drop(), proxy: redis },
      ];
      const rounds = profile.rounds * 2;
      const perPhase = Math.ceil(profile.operations / (rounds * faults.length + 1));
      const tally = faults.map(() => ({ times: 0, cut: 0 }));
      for (let round = 0; round < rounds; round++) {
        for (const [i, fault] of faults.entries()) {
          await workload.more(perPhase, 120_000);
          // Cut while requests are in flight, so some replies are lost and resent.
          await waitUntil(() => fault.proxy.openConnections > 0, 30_000, 'connections to cut');
          const accepted = fault.proxy.counts.accepted;
          const cut = fault.inject();
          expect(cut).toBeGreaterThan(0);
          await waitUntil(() => fault.proxy.counts.accepted > accepted, 30_000, 'the peers to reconnect');
          const counted = tally[i]!;
          counted.times++;
          counted.cut += cut;
        }
      }
      for (const [i, fault] of faults.entries()) {
        const { times, cut } = tally[i]!;
        scenario.fault(`${fault.name} ${times}×: ${cut} connections cut; after each cut the peers came back through the proxy`, times);
      }
      await workload.finishAfterFaults(profile.operations, 300_000);
      const row = await scenario.finish();
      expect(row.faultsInjected).toBe(rounds * faults.length);
      expect(row.registerOperations).toBeGreaterThanOrEqual(profile.operations);
      expect(row.epochsAnnounced).toBe(0);
      expect(row.acknowledgedWritesLost).toBe(0);
      expect(row.linearizable, row.failure).toBe('yes');
      expect(row.passed).toBe(true);
      return row;
    });
  });
});
