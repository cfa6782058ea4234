import type { Services } from '../services.js';
import { parseJson, stringifyJson } from '../../shared/protocol/json.js';
import { jobKeys, MIRROR_PREFIX, taskIndexKey } from './keys.js';
import { TaskMirror } from './mirror.js';
import { TaskQueues } from './queues.js';
import { TERMINAL_STATES, type TaskState } from './snapshot.js';
import { defineTaskScripts } from './scripts.js';

const PAGE = 1_000;

interface Mirrored {
  statusText?: string;
  specText?: string;
  checkpointText?: string;
}

interface Status {
  state: TaskState;
  attempt: number;
  failures: number;
  losses: number;
  progress: number;
  seq: number;
}

/**
 * After Redis lost its data and the board was rebuilt (from Postgres), puts every task
 * the board still shows unfinished back in its queue, from its `$tasks` keys: same id,
 * data and options, its last checkpoint and sequence, and its counts of deliveries,
 * failures and losses (a delivery that was under way counts as lost). Returns how many
 * it re-created; tasks whose job still exists are left alone, so it is safe to repeat.
 */
export async function recreateTasksFromBoard(board: string, services: Pick<Services, 'redis' | 'store' | 'log'>): Promise<number> {
  const tasks = new Map<string, Mirrored>();
  let after: string | undefined;
  for (;;) {
    const page = await services.store.list(board, MIRROR_PREFIX, after, PAGE);
    for (const item of page.items) {
      const [, queue, taskId, part] = item.key.split('/');
      if (!queue || !taskId) continue;
      const id = `${queue}/${taskId}`;
      const entry = tasks.get(id) ?? {};
      if (part === undefined) entry.statusText = item.value.text;
      else if (part === 'spec') entry.specText = item.value.text;
      else if (part === 'checkpoint') entry.checkpointText = item.value.text;
      tasks.set(id, entry);
    }
    if (!page.more || page.items.length === 0) break;
    after = page.items[page.items.length - 1]!.key;
  }

  defineTaskScripts(services.redis);
  const queues = new TaskQueues(services.redis);
  const mirror = new TaskMirror(services.store);
  let recreated = 0;
  try {
    for (const [id, entry] of tasks) {
      if (!entry.statusText || !entry.specText) continue;
      const status = JSON.parse(entry.statusText) as Status;
      const [queue, taskId] = id.split('/') as [string, string];
      if (TERMINAL_STATES.has(status.state)) {
        // Finished tasks stay finished; task.get answers for them from the mirror.
        await services.redis.hsetnx(taskIndexKey(board), taskId, queue);
        continue;
      }
      const spec = parseJson(entry.specText);
      const fields = spec.value as { data: unknown; attempts?: number; backoffMs?: number; priority?: number };
      const { created } = await queues.enqueue({
        board,
        queue,
        taskId,
        dataText: stringifyJson(fields.data, spec.lossless),
        attempts: fields.attempts,
        backoffMs: fields.backoffMs,
        priority: fields.priority,
        recreating: true,
      });
      if (!created) continue;
      // Held back (delayed) until its counts and checkpoint are in place, then released.
      await services.redis.hset(jobKeys(board, queue, taskId).job, {
        bbTry: status.attempt,
        atm: status.failures,
        bbLost: status.losses,
        bbSeq: status.seq,
        progress: status.progress,
        ...(entry.checkpointText !== undefined ? { bbCp: entry.checkpointText } : {}),
      });
      const job = await queues.job(board, queue, taskId);
      await job?.promote();
      await mirror.sync(board, queue, taskId);
      recreated++;
    }
  } finally {
    await queues.close();
  }
  services.log.info({ board, recreated }, 'tasks re-created from the board');
  return recreated;
}
