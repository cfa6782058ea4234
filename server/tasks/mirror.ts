import { failureError, isFailure } from '../board/script-failures.js';
import type { ScriptResult } from '../board/scripts.js';
import type { BoardStore } from '../board/store.js';
import {
  mirrorOf,
  runTaskScript,
  type ActivateResult,
  type AddResult,
  type FinishResult,
  type SyncResult,
  type TaskScriptTarget,
  type TaskWriteScript,
  type TouchResult,
} from './scripts.js';
import type { TaskState } from './snapshot.js';

const SERVER_ACTOR = JSON.stringify('$server');

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
    const result = await this.run('task-sync-10', target, [], []);
    if (isFailure(result.mirror, 'noJob')) return null;
    return { state: result.state };
  }

  /**
   * Runs a task write script, which mirrors the task as its last step; a board without
   * meta is materialized (created, or rebuilt from history) and the mirror written on its
   * own then. Throws when the mirror could not be written.
   */
  async run<N extends TaskWriteScript>(
    file: N,
    target: TaskScriptTarget,
    keys: readonly string[],
    args: ReadonlyArray<string | number | Buffer>,
  ): Promise<ScriptResult<N>> {
    let result = await runTaskScript(this.store, file, target, keys, args);
    let mirror = mirrorOf(result as SyncResult | ActivateResult | TouchResult | AddResult | FinishResult);
    if (mirror && isFailure(mirror, 'noMeta')) {
      // (task-sync's name check ran before mirror(): the job is this call's.)
      await this.store.materialize(target.board);
      const again = await runTaskScript(this.store, 'task-sync-10', target, [], []);
      mirror = mirrorOf(again);
      if (file === 'task-sync-10') result = again as ScriptResult<N>;
    }
    if (mirror && !mirror.ok && mirror.failure !== 'noJob') {
      throw failureError(mirror, undefined, mirror.failure === 'backlog' ? { limit: this.store.options.maxUnpersisted ?? 0 } : undefined);
    }
    return result;
  }
}
