import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEvent } from '../../../client/sdk/index.js';
import { AgentProcess } from '../harness/agent-process.js';
import { changeLog } from '../harness/change-log.js';
import { FaultScenario } from '../harness/scenario.js';
import { sleep, waitUntil } from '../harness/time.js';

const QUEUE = 'jobs';
const STEPS = 25;

let scenario: FaultScenario;
const workers: AgentProcess[] = [];
beforeAll(async () => {
  scenario = await FaultScenario.start({ name: 'task-workers-killed', nodes: 1, durability: 'memory' });
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await scenario?.cleanup();
});

/** Tasks a worker started and has not finished (per its own report). */
function holding(worker: AgentProcess): string[] {
  const finished = new Set(worker.all('finished').map((l) => String(l.taskId)));
  return [...new Set(worker.all('start').map((l) => String(l.taskId)))].filter((id) => !finished.has(id));
}

/** How many times the `$tasks` mirror of each task went into `completed`. */
function completions(events: readonly BoardEvent[]): Map<string, number> {
  const last = new Map<string, string>();
  const counts = new Map<string, number>();
  for (const event of events) {
    const match = /^\$tasks\/[^/]+\/([^/]+)$/.exec(event.key);
    if (!match || event.type !== 'put') continue;
    const taskId = match[1]!;
    const state = String((event.value as { state?: unknown }).state);
    if (state === 'completed' && last.get(taskId) !== 'completed') counts.set(taskId, (counts.get(taskId) ?? 0) + 1);
    last.set(taskId, state);
  }
  return counts;
}

describe('task workers SIGKILLed while working', () => {
  it('every task completes exactly once, each subtask output once and in order', async () => {
    const { workload, profile, nodes, board } = scenario;
    const node = nodes[0]!;
    const taskCount = profile.name === 'full' ? 24 : 12;
    const kills = 2 * profile.rounds;
    const startWorker = async () => {
      const worker = new AgentProcess('test/faults/task-worker-agent.ts', [
        '--url',
        node.wsUrl,
        '--board',
        board,
        '--queue',
        QUEUE,
        '--concurrency',
        '2',
        '--step-ms',
        '60',
        '--lease',
        '3000',
        '--agent',
        `worker-${workers.length}`,
      ]);
      workers.push(worker);
      await worker.until('ready', () => true, 60_000);
      return worker;
    };
    await scenario.run(async () => {
      const client = await scenario.client(node.wsUrl, { agent: 'producer' });
      const taskIds = Array.from({ length: taskCount }, (_, i) => `task-${i}`);
      for (const taskId of taskIds) await client.enqueue(board, QUEUE, { n: STEPS }, { taskId });
      await scenario.begin();
      const live = await Promise.all([startWorker(), startWorker()]);
      for (let k = 0; k < kills; k++) {
        const victim = live.shift()!;
        await waitUntil(() => holding(victim).length > 0, 60_000, 'the worker to hold a task');
        await sleep(300);
        const held = holding(victim);
        victim.signal('SIGKILL');
        const how = await victim.exited;
        expect(how).toBe('SIGKILL');
        scenario.fault(`worker pid ${victim.pid} SIGKILLed holding ${held.join(', ')}`);
        live.push(await startWorker());
      }
      await waitUntil(
        async () => {
          const tasks = await Promise.all(taskIds.map((id) => client.task(board, id)));
          return tasks.every((t) => t.state === 'completed' || t.state === 'failed');
        },
        180_000,
        'every task to end',
      );
      await workload.finishAfterFaults(profile.operations, 300_000);

      const infos = await Promise.all(taskIds.map((id) => client.task<{ outputs: string[] }>(board, id)));
      const once = completions(await changeLog(client, board));
      const resumed = infos.filter((t) => t.losses > 0);
      const attempts = resumed.map((t) => t.attempt).join(',');
      scenario.evidence.push(`${resumed.length} tasks were lost with a worker and resumed (attempts ${attempts})`);
      const expectedOutputs = (taskId: string) => JSON.stringify(Array.from({ length: STEPS }, (_, i) => `${taskId}:${i}`));
      const row = await scenario.finish({
        domainOperations: taskCount * (STEPS + 2),
        checks: {
          everyTaskCompleted: infos.every((t) => t.state === 'completed'),
          everyTaskCompletedOnce: taskIds.every((id) => once.get(id) === 1),
          everyOutputOnceInOrder: infos.every((t) => JSON.stringify(t.result?.outputs) === expectedOutputs(t.taskId)),
          killedTasksResumed: resumed.length > 0,
        },
      });
      expect(row.checks).toMatchObject({
        everyTaskCompleted: true,
        everyTaskCompletedOnce: true,
        everyOutputOnceInOrder: true,
        killedTasksResumed: true,
      });
      expect(row.faultsInjected).toBe(kills);
      expect(row.registerOperations).toBeGreaterThanOrEqual(profile.operations);
      expect(row.acknowledgedWritesLost).toBe(0);
      expect(row.linearizable, row.failure).toBe('yes');
      expect(row.passed).toBe(true);
      return row;
    });
  });
});
