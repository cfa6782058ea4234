import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlackboardError, ErrorCode } from '../../../client/sdk/index.js';
import { FaultScenario } from '../harness/scenario.js';
import { sleep, waitUntil } from '../harness/time.js';

const HEARTBEAT_MS = 500;
const LOCK = 'held-by-a-silent-peer';

let scenario: FaultScenario;
beforeAll(async () => {
  scenario = await FaultScenario.start({
    name: 'half-open',
    nodes: 1,
    durability: 'memory',
    // Every register client reaches the node through the proxy: the stall silences all of them.
    clientProxy: true,
    serverEnv: { HEARTBEAT_MS: String(HEARTBEAT_MS) },
  });
});
afterAll(() => scenario?.cleanup());

describe('half-open connections (the proxy stops forwarding, sockets stay open)', () => {
  it('the heartbeat drops them, with their locks and presence; clients resume; nothing lost; linearizable', async () => {
    const { workload, profile, nodes, board } = scenario;
    const node = nodes[0]!;
    const proxy = scenario.proxies.client!;
    await scenario.run(async () => {
      const observer = await scenario.client(node.wsUrl, { agent: 'observer' });
      await scenario.begin();
      const perPhase = Math.ceil(profile.operations / (profile.rounds + 1));
      for (let round = 0; round < profile.rounds; round++) {
        const holder = await scenario.client(`ws://127.0.0.1:${proxy.port}/v1/ws`, { agent: `silent-${round}` });
        const grant = await holder.acquireLock(board, LOCK, { ttlMs: 120_000 });
        await holder.presence(board, { round });
        await workload.more(perPhase, 120_000);
        const silenced = proxy.openConnections;
        const closedBefore = proxy.counts.targetClosedWhileStalled;
        proxy.stall();
        const stalledAt = Date.now();
        const dropped = () => proxy.counts.targetClosedWhileStalled - closedBefore;
        await waitUntil(() => dropped() >= silenced, 20 * HEARTBEAT_MS, 'the node to drop every silent connection');
        const droppedAfterMs = Date.now() - stalledAt;
        // Its lock (two minutes of lease left) and presence went with the connection.
        const taken = await observer.acquireLock(board, LOCK, { ttlMs: 5_000, waitMs: 5_000 });
        const presence = await observer.get(board, `$presence/silent-${round}`).catch((err: unknown) => err);
        expect(presence).toBeInstanceOf(BlackboardError);
        expect((presence as BlackboardError).code).toBe(ErrorCode.NOT_FOUND);
        await observer.releaseLock(board, LOCK, taken.token);
        await sleep(HEARTBEAT_MS);
        proxy.resume();
        holder.close();
        scenario.fault(
          `stalled ${silenced} connections at the proxy; the node closed all of them within ${droppedAfterMs} ms (HEARTBEAT_MS ${HEARTBEAT_MS}); ` +
            `the silent holder's lock (token ${grant.token}, 120 s lease) went to token ${taken.token}; its presence was removed`,
        );
      }
      await workload.finishAfterFaults(profile.operations, 300_000);
      const row = await scenario.finish();
      expect(row.faultsInjected).toBe(profile.rounds);
      expect(row.registerOperations).toBeGreaterThanOrEqual(profile.operations);
      expect(row.acknowledgedWritesLost).toBe(0);
      expect(row.linearizable, row.failure).toBe('yes');
      expect(row.passed).toBe(true);
      return row;
    });
  });
});
