import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { terminateBackends } from '../harness/postgres.js';
import { FaultScenario } from '../harness/scenario.js';
import { sleep, waitUntil } from '../harness/time.js';

const OUTAGE_MS = 4_000;

let scenario: FaultScenario;
beforeAll(async () => {
  scenario = await FaultScenario.start({
    name: 'postgres-outage',
    nodes: 1,
    durability: 'mixed',
    postgresProxy: true,
    // Durable writes give up (TIMEOUT, outcome unknown) well within the client's own timeout.
    serverEnv: { DURABLE_TIMEOUT_MS: '3000' },
    requestTimeoutMs: 8_000,
  });
});
afterAll(() => scenario?.cleanup());

describe('Postgres outage', () => {
  it('backends terminated, then Postgres unreachable for 4 s: memory writes go on, durable ones wait; nothing lost; linearizable', async () => {
    const { workload, profile, db, nodes } = scenario;
    const proxy = scenario.proxies.postgres!;
    const node = nodes[0]!;
    // A node crashes when the Postgres connection of a history transaction dies mid-way:
    // the pg client checked out of the pool for it has no 'error' listener, so pg's
    // "Connection terminated unexpectedly" is an unhandled 'error' event. The full profile
    // cuts connections under write load, as a real outage does, and fails on it; the quick
    // profile holds writes for a moment before each cut (the persister is then between
    // transactions) and checks everything else.
    const underLoad = profile.name === 'full';
    const cut = async (fault: () => Promise<void>) => {
      if (!underLoad) {
        await workload.pause();
        await sleep(500);
      }
      await fault();
      workload.resume();
      await sleep(200);
      scenario.assertNodesAlive();
    };
    await scenario.run(async () => {
      await scenario.begin();
      const perPhase = Math.ceil(profile.operations / (2 * profile.rounds + 1));
      for (let round = 0; round < profile.rounds; round++) {
        await workload.more(perPhase, 120_000);
        await cut(async () => {
          const terminated = await terminateBackends(db);
          expect(terminated).toBeGreaterThan(0);
          scenario.fault(`pg_terminate_backend returned true for ${terminated} backends of ${db.name}${underLoad ? ' under load' : ''}`);
        });

        await workload.more(perPhase, 120_000);
        const before = { ...proxy.counts };
        await cut(() => proxy.close());
        await waitUntil(async () => (await node.dependencies()).postgres === 'down', 20_000, 'the node to see Postgres down');
        await sleep(OUTAGE_MS);
        await proxy.open();
        await waitUntil(async () => (await node.dependencies()).postgres === 'up', 30_000, 'the node to see Postgres again');
        const cutConnections = proxy.counts.droppedConnections - before.droppedConnections;
        const refused = proxy.counts.refused - before.refused;
        expect(cutConnections + refused).toBeGreaterThan(0);
        scenario.fault(
          `Postgres unreachable ≥ ${OUTAGE_MS} ms: proxy cut ${cutConnections} connections and refused ${refused}; /readyz said postgres down, then up`,
        );
      }
      await workload.finishAfterFaults(profile.operations, 300_000);
      const row = await scenario.finish();
      expect(row.faultsInjected).toBe(2 * profile.rounds);
      expect(row.registerOperations).toBeGreaterThanOrEqual(profile.operations);
      expect(row.epochsAnnounced).toBe(0);
      expect(row.acknowledgedWritesLost, row.failure).toBe(0);
      expect(row.linearizable, row.failure).toBe('yes');
      expect(row.passed).toBe(true);
      return row;
    });
  });
});
