import { randomBytes } from 'node:crypto';
import type { Job, JobsOptions } from 'bullmq';
import type { Caller } from '../extension.js';

/** A task a remote worker of this node holds: the delivery token is its fencing token. */
export interface HeldTask {
  board: string;
  queue: string;
  taskId: string;
  token: string;
  /** The BullMQ job (for one task-finish delivered, built on first use: see FetchedJob). */
  readonly job: Job;
  /** Its options as BullMQ decodes them (what a completion needs of the job). */
  readonly opts: JobsOptions;
  worker: RemoteWorker;
  /** Fires when the lease may have run out without a heartbeat. */
  timer: NodeJS.Timeout | null;
}

/**
 * An agent that asked for tasks with `task.work`: it receives at most `concurrency`
 * tasks at once, and loses each one it does not heartbeat for `leaseMs`.
 */
export class RemoteWorker {
  readonly id = `w-${randomBytes(8).toString('hex')}`;
  readonly held = new Map<string, HeldTask>();
  /** Slots promised to deliveries under way. */
  reserved = 0;
  stopped = false;
  /** Let a lease lapse: gets no new task until its connection shows life again. */
  suspect = false;

  constructor(
    readonly session: Caller,
    readonly board: string,
    readonly queue: string,
    readonly concurrency: number,
    readonly leaseMs: number,
  ) {}

  get free(): number {
    if (this.stopped || this.suspect || this.session.closed) return 0;
    return this.concurrency - this.held.size - this.reserved;
  }
}

/** The remote workers of this node and the tasks they hold, by every key the ops arrive with. */
export class WorkerRegistry {
  private readonly bySession = new Map<Caller, Map<string, RemoteWorker>>();
  private readonly byToken = new Map<string, HeldTask>();

  static readonly MAX_WORKERS_PER_CONNECTION = 256;

  add(worker: RemoteWorker): void {
    let mine = this.bySession.get(worker.session);
    if (!mine) this.bySession.set(worker.session, (mine = new Map()));
    mine.set(worker.id, worker);
  }

  count(session: Caller): number {
    return this.bySession.get(session)?.size ?? 0;
  }

  of(session: Caller): Iterable<RemoteWorker> {
    return this.bySession.get(session)?.values() ?? [];
  }

  find(session: Caller, id: string): RemoteWorker | undefined {
    return this.bySession.get(session)?.get(id);
  }

  /** Forgets one worker; false if it was not registered. */
  remove(worker: RemoteWorker): boolean {
    const mine = this.bySession.get(worker.session);
    if (!mine?.delete(worker.id)) return false;
    if (mine.size === 0) this.bySession.delete(worker.session);
    return true;
  }

  /** Forgets a connection's workers; returns them so their tasks can be released. */
  removeSession(session: Caller): RemoteWorker[] {
    const mine = this.bySession.get(session);
    this.bySession.delete(session);
    return mine ? [...mine.values()] : [];
  }

  all(): RemoteWorker[] {
    return [...this.bySession.values()].flatMap((m) => [...m.values()]);
  }

  hold(task: HeldTask): void {
    task.worker.held.set(task.taskId, task);
    this.byToken.set(task.token, task);
  }

  byTokenOf(token: string): HeldTask | undefined {
    return this.byToken.get(token);
  }

  /** Ends this node's hold on a task (it finished, was lost or cancelled); false if it held none. */
  release(task: HeldTask): boolean {
    if (this.byToken.get(task.token) !== task) return false;
    this.byToken.delete(task.token);
    if (task.worker.held.get(task.taskId) === task) task.worker.held.delete(task.taskId);
    if (task.timer) clearTimeout(task.timer);
    task.timer = null;
    return true;
  }
}
