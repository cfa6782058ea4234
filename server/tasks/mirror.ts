import { KeyQueue } from '../board/key-queue.js';
import { CompareFailed, type BoardStore, type WriteOp } from '../board/store.js';
import type { RedisClient } from '../board/scripts.js';
import { mirrorKeys } from './keys.js';
import { readTask, statusText, type TaskSnapshot } from './snapshot.js';

export const SERVER_ACTOR = JSON.stringify('$server');
const MAX_RACES = 50;

/**
 * Keeps `$tasks/<queue>/<taskId>` equal to the task as Redis holds it, through the
 * board's write path (so watchers and history see it). Each call reads the mirror and
 * then the task, and commits only if the mirror is unchanged since it was read: when
 * callers race, the last commit always carries the newest state, so a watcher never
 * sees a task go back. A new checkpoint goes to `…/checkpoint` in the same revision.
 */
export class TaskMirror {
  private readonly queue = new KeyQueue();

  constructor(
    private readonly redis: RedisClient,
    private readonly store: BoardStore,
  ) {}

  sync(board: string, queue: string, taskId: string, actorJson = SERVER_ACTOR): Promise<TaskSnapshot | null> {
    return this.queue.run(`${board}\n${queue}\n${taskId}`, () => this.syncNow(board, queue, taskId, actorJson));
  }

  private async syncNow(board: string, queue: string, taskId: string, actorJson: string): Promise<TaskSnapshot | null> {
    const keys = mirrorKeys(queue, taskId);
    for (let race = 0; race < MAX_RACES; race++) {
      const { mirror, task } = await readTask(this.redis, board, queue, taskId);
      if (!task) return null;
      const text = statusText(task);
      if (mirror?.valueText === text) return task;
      const ops: WriteOp[] = [{ kind: 'put', key: keys.status, valueText: text }];
      if (task.seq > mirroredSeq(mirror?.valueText) && task.checkpointText !== null) {
        ops.push({ kind: 'put', key: keys.checkpoint, valueText: task.checkpointText });
      }
      // The first mirror also keeps what is needed to enqueue the task again after Redis lost it.
      if (!mirror) ops.push({ kind: 'put', key: keys.spec, valueText: specText(task) });
      try {
        await this.store.commit({
          board,
          actorJson,
          shape: 'txn',
          compares: [{ key: keys.status, version: mirror?.version ?? 0 }],
          ops,
        });
        return task;
      } catch (err) {
        if (!(err instanceof CompareFailed)) throw err;
      }
    }
    return null;
  }
}

function specText(t: TaskSnapshot): string {
  const backoff = t.backoffMs === null ? '' : `,"backoffMs":${t.backoffMs}`;
  return `{"data":${t.dataText},"attempts":${t.attempts}${backoff},"priority":${t.priority}}`;
}

function mirroredSeq(text: string | undefined): number {
  if (text === undefined) return 0;
  const match = /"seq":(\d+)/.exec(text);
  return match ? Number(match[1]) : 0;
}
