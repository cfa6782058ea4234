import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess } from '../harness/agent-process.js';
import { changeLog } from '../harness/change-log.js';
import { checkFencing } from '../harness/fencing.js';
import { FaultScenario } from '../harness/scenario.js';
import { waitUntil } from '../harness/time.js';

const LOCK = 'critical';
// Long enough that a busy machine does not make the holder miss its own extensions.
const LEASE_MS = 3_000;
const CONTENDER_WRITES = 20;

let scenario: FaultScenario;
const agents: AgentProcess[] = [];
beforeAll(async () => {
  scenario = await FaultScenario.start({ name: 'lock-pause', nodes: 1, durability: 'memory' });
});
afterAll(async () => {
  await Promise.all(agents.map((a) => a.kill()));
  await scenario?.cleanup();
});

describe('a lock holder frozen (SIGSTOP) past its lease', () => {
  it('its successor gets a higher token; once thawed, its fenced write is refused; no write with an expired token lands', async () => {
    const { workload, profile, nodes, board } = scenario;
    const node = nodes[0]!;
    await scenario.run(async () => {
      await scenario.begin();
      const contender = await scenario.client(node.wsUrl, { agent: 'contender' });
      let domainOperations = 0;
      const perPhase = Math.ceil(profile.operations / (profile.rounds + 1));
      for (let round = 0; round < profile.rounds; round++) {
        await workload.more(perPhase, 120_000);
        const args = [node.wsUrl, `holder-${round}`, board, LOCK, String(LEASE_MS), 'writer'];
        const agent = new AgentProcess('test/faults/lock-holder-agent.ts', args);
        agents.push(agent);
        const acquired = await agent.until('acquired', () => true, 60_000);
        await agent.until('wrote', (l) => Number(l.seq) >= 4, 30_000);
        agent.signal('SIGSTOP');
        const frozenAt = Date.now();
        await waitUntil(() => agent.state() === 'T', 5_000, 'the holder stopped');
        // Only once the frozen holder's lease has run out can anyone else take the lock.
        const grant = await contender.acquireLock(board, LOCK, { ttlMs: 10_000, waitMs: 4 * LEASE_MS + 10_000 });
        const waitedMs = Date.now() - frozenAt;
        expect(grant.token).toBeGreaterThan(Number(acquired.token));
        const fence = { lock: LOCK, token: grant.token };
        for (let i = 0; i < CONTENDER_WRITES; i++) await contender.put(board, `contender/r${round}-${i}`, { token: grant.token, i }, { fence });
        const frozenMs = Date.now() - frozenAt;
        expect(agent.state()).toBe('T');
        agent.signal('SIGCONT');
        const refused = await agent.until('fenced', () => true, 30_000);
        await agent.exited;
        await contender.releaseLock(board, LOCK, grant.token);
        domainOperations += agent.all('wrote').length + agent.all('fenced').length + CONTENDER_WRITES + 3;
        scenario.fault(
          `lock holder pid ${agent.pid} (token ${String(acquired.token)}, ${LEASE_MS} ms lease) SIGSTOPped (state T) for ${frozenMs} ms; ` +
            `its lease ran out while frozen: the contender got token ${grant.token} ${waitedMs} ms after the stop; ` +
            `after SIGCONT the holder's write w${String(refused.seq)} was FENCED`,
        );
      }
      await workload.finishAfterFaults(profile.operations, 300_000);

      const events = await changeLog(contender, board);
      const fencing = checkFencing(events, LOCK, ['agent/', 'contender/']);
      const landed = new Set(events.map((e) => `${e.key}@${e.rev}`));
      const acknowledgedFenced = agents.flatMap((a) => a.all('wrote').map((l) => `agent/w${String(l.seq)}@${String(l.rev)}`));
      const row = await scenario.finish({
        domainOperations,
        checks: {
          noWriteWithExpiredTokenLanded: fencing.violations.length === 0,
          everyHolderFencedAfterThaw: agents.every((a) => a.all('fenced').length === 1),
          acknowledgedFencedWritesInLog: acknowledgedFenced.every((k) => landed.has(k)),
          successorsHeldTheLock: fencing.holders >= 2 * profile.rounds,
        },
      });
      expect(fencing.violations).toEqual([]);
      expect(fencing.fencedWrites).toBeGreaterThanOrEqual(profile.rounds * (CONTENDER_WRITES + 5));
      expect(row.checks).toMatchObject({ everyHolderFencedAfterThaw: true, acknowledgedFencedWritesInLog: true, successorsHeldTheLock: true });
      expect(row.registerOperations).toBeGreaterThanOrEqual(profile.operations);
      expect(row.acknowledgedWritesLost).toBe(0);
      expect(row.linearizable, row.failure).toBe('yes');
      expect(row.passed).toBe(true);
      return row;
    });
  });
});
