import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { BoardStore } from '../board/store.js';
import { MirrorStatus, runTaskScript, type ScriptReply, type TaskScriptTarget, type TaskWriteScript } from './scripts.js';
import type { TaskState } from './snapshot.js';

export const SERVER_ACTOR = JSON.stringify('$server');

/**
 * Keeps `$tasks/<queue>/<taskId>` equal to the task as Redis holds it, through the
 * board's write path (so watchers and history see it). Reading the task and writing its
 * mirror are one script (task-lib.lua's mirror()), so the mirror always carries the state
 * the task had when it was written, and a watcher never sees a task go back. A new
 * checkpoint goes to `…/checkpoint` in the same revision. The scripts that change a task
 * (activate, touch) mirror it in the same step; `sync` mirrors what BullMQ's own scripts
 * changed.
 */
export class TaskMirror {
  constructor(private readonly store: BoardStore) {}

  /** Mirrors the task as it is now; its state, or null when BullMQ has no such job. */
  async sync(board: string, queue: string, taskId: string, actorJson = SERVER_ACTOR): Promise<{ state: TaskState } | null> {
    const target = { board, queue, taskId, actorJson };
    const reply = await this.run('task-sync-10', target, [], [], 0);
    if (Number(reply[0]) === MirrorStatus.noJob) return null;
    return { state: String(reply[2]) as TaskState };
  }

  /**
   * Runs a task write script whose reply carries mirror()'s status at `mirrorAt`; a board
   * without meta is materialized (created, or rebuilt from history) and the mirror written
   * on its own then. Throws when the mirror could not be written.
   */
  async run(
    file: TaskWriteScript,
    target: TaskScriptTarget,
    keys: readonly string[],
    args: ReadonlyArray<string | number | Buffer>,
    mirrorAt: number,
  ): Promise<ScriptReply> {
    let reply = await runTaskScript(this.store, file, target, keys, args, mirrorAt);
    let status = Number(reply[mirrorAt]);
    if (status === MirrorStatus.noMeta) {
      // (task-sync's name check ran before mirror(): the job is this call's.)
      await this.store.materialize(target.board);
      const again = await runTaskScript(this.store, 'task-sync-10', target, [], [], 0);
      status = Number(again[0]);
      if (file === 'task-sync-10') reply = again;
    }
    if (status === MirrorStatus.noMeta) throw new BlackboardError(ErrorCode.UNAVAILABLE, 'board state is being rebuilt; retry');
    if (status === MirrorStatus.backlog) {
      throw new BlackboardError(ErrorCode.UNAVAILABLE, 'too many revisions are waiting for Postgres; retry later', {
        limit: this.store.options.maxUnpersisted ?? 0,
      });
    }
    return reply;
  }
}
