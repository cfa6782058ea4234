import { randomUUID } from 'node:crypto';
import { UnrecoverableError, type Job } from 'bullmq';
import { Cluster, type Redis } from 'ioredis';
import { encodeTaskCancelPush, encodeTaskPush, preEncoded } from '../../shared/protocol/envelope.js';
import type { Services } from '../services.js';
import type { Caller } from '../extension.js';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { CANCEL_CHANNEL, jobKeys, taskIndexKey } from './keys.js';
import { TaskMirror } from './mirror.js';
import { defineTaskScripts, runTaskScript, TASK_ADD_SCRIPTS, type ActivateResult, type Activation, type FinishResult } from './scripts.js';
import { FetchedJob, QueuePump, type PumpHost } from './pump.js';
import { type EnqueueRequest, TaskQueues } from './queues.js';
import { type RemoteWorker, WorkerRegistry, type HeldTask } from './remote-workers.js';
import { fenced, LEASE_MARGIN_MS, lostHold } from './lease.js';
import { AgentShares } from '../board/agent-shares.js';

/**
 * Connections for BullMQ, apart from the node's: BullMQ defines its ~60 scripts on the
 * connection it is given, and ioredis copies every script defined on a connection into
 * each auto-pipeline batch it makes, which would make each of the node's own commands
 * several times dearer. They send each command at once (no auto-pipelining: a batch would
 * cost more than it saves). `waiting`: commands wait out reconnects instead of failing
 * (BullMQ's blocking fetches require it).
 */
function bullConnection(redis: Services['redis'], waiting: boolean): Redis {
  const waits = waiting ? { maxRetriesPerRequest: null, enableOfflineQueue: true } : {};
  if (redis instanceof Cluster) {
    return redis.duplicate(undefined, {
      lazyConnect: true,
      enableAutoPipelining: false,
      redisOptions: { ...redis.options.redisOptions, ...waits },
    }) as unknown as Redis;
  }
  return redis.duplicate({ enableAutoPipelining: false, lazyConnect: true, ...waits });
}

/** The keys of BullMQ's moveToFinished script. */
const FINISH_KEYS = 14;

/** A queue's pump outlives its last worker this long, so a reconnecting worker finds it. */
const PUMP_IDLE_MS = 10_000;
/** Each pump holds a blocking Redis connection: a node works at most this many board queues at once. */
const MAX_PUMPS = 1_000;

/**
 * The task side of one node: BullMQ queues, the remote workers connected here, the
 * jobs they hold and their leases, and the `$tasks` mirror.
 */
export class TaskService implements PumpHost {
  readonly queues: TaskQueues;
  readonly mirror: TaskMirror;
  readonly registry = new WorkerRegistry();
  /** Workers each agent runs on this node (MAX_TASK_WORKERS_PER_AGENT), taken at task.work. */
  readonly workerShares: AgentShares;
  private readonly pumps = new Map<string, QueuePump>();
  private readonly idle = new Map<string, NodeJS.Timeout>();
  private stopping = false;

  private constructor(
    readonly services: Services,
    private readonly bullRedis: Redis,
    private readonly subscriber: Redis,
    private readonly queueRedis: Redis,
  ) {
    this.queues = new TaskQueues(queueRedis);
    this.mirror = new TaskMirror(services.store);
    this.workerShares = new AgentShares('workers', 'task workers', () => services.config.MAX_TASK_WORKERS_PER_AGENT);
  }

  static async start(services: Services): Promise<TaskService> {
    defineTaskScripts(services.redis);
    // Blocking fetches need a connection that waits out reconnects (BullMQ requires it).
    const bullRedis = bullConnection(services.redis, true);
    const subscriber = bullConnection(services.redis, true);
    // The queues' own commands (reads of a job, re-created tasks' adds) fail at once while Redis is away, like the node's.
    const queueRedis = bullConnection(services.redis, false);
    for (const c of [bullRedis, subscriber, queueRedis]) c.on('error', () => undefined);
    await Promise.all([bullRedis.connect(), subscriber.connect(), queueRedis.connect()]);
    const service = new TaskService(services, bullRedis, subscriber, queueRedis);
    subscriber.on('message', (_channel: string, token: string) => service.cancelled(token));
    await subscriber.subscribe(CANCEL_CHANNEL);
    return service;
  }

  get log() {
    return this.services.log;
  }

  // --- enqueue ---

  /**
   * Adds a task unless the board already has one with this id (`created` says which): the
   * claim on the id, BullMQ's add and the first mirror are one script.
   */
  async enqueue(req: EnqueueRequest, actorJson: string): Promise<{ taskId: string; created: boolean }> {
    const { board, queue } = req;
    const taskId = req.taskId ?? randomUUID();
    if (taskId === '0' || taskId.startsWith('0:')) throw new BlackboardError(ErrorCode.INVALID, "a task id cannot be '0' or start with '0:'");
    // BullMQ keeps the first job of an id; a nonce as its name tells whether this call made it.
    const nonce = randomUUID();
    const call = await this.queues.addCall({ ...req, taskId }, nonce);
    const file = TASK_ADD_SCRIPTS[call.script as keyof typeof TASK_ADD_SCRIPTS].file;
    const added = await this.mirror.run(file, { board, queue, taskId, actorJson }, [taskIndexKey(board), ...call.keys], [nonce, ...call.args]);
    switch (added.kind) {
      case 'added':
        return { taskId, created: true };
      case 'exists':
        return { taskId, created: false };
      case 'otherQueue':
        throw new BlackboardError(ErrorCode.CONFLICT, `task ${taskId} already exists in queue ${added.queue}`, { taskId, queue: added.queue });
      case 'refused':
        throw new Error(`adding task ${taskId} failed (BullMQ code ${added.code})`);
    }
  }

  // --- remote workers ---

  /** Whether this node can take one more worker on that queue. */
  canServe(board: string, queue: string): boolean {
    return this.pumps.has(`${board}\n${queue}`) || this.pumps.size < MAX_PUMPS;
  }

  /** Starts handing tasks to a worker (after the reply to its task.work went out). */
  startWorker(worker: RemoteWorker): void {
    if (worker.session.closed || this.stopping) {
      this.workerShares.give(worker.session.agentId);
      return;
    }
    this.registry.add(worker);
    const key = `${worker.board}\n${worker.queue}`;
    const timer = this.idle.get(key);
    if (timer) clearTimeout(timer);
    this.idle.delete(key);
    let pump = this.pumps.get(key);
    if (!pump) {
      pump = new QueuePump(worker.board, worker.queue, this.bullRedis, this.services.config.TASK_STALL_CHECK_MS, this, this.log);
      this.pumps.set(key, pump);
      pump.start();
    }
    pump.workers.add(worker);
    pump.wake();
  }

  /** No new tasks for this worker; the ones it holds stay its own. */
  stopWorker(worker: RemoteWorker): void {
    worker.stopped = true;
  }

  /**
   * Takes a worker that holds nothing any more off its queue's pump. A pump outlives
   * its last worker a little, and is never closed under a held task (the task's Job
   * object does its BullMQ calls through the pump's connection).
   */
  private detachWorker(worker: RemoteWorker): void {
    worker.stopped = true;
    const key = `${worker.board}\n${worker.queue}`;
    const pump = this.pumps.get(key);
    if (!pump) return;
    pump.workers.delete(worker);
    if (pump.workers.size > 0) return;
    const timer = setTimeout(() => {
      this.idle.delete(key);
      if (pump.workers.size > 0 || this.pumps.get(key) !== pump) return;
      this.pumps.delete(key);
      void pump.close();
    }, PUMP_IDLE_MS);
    timer.unref();
    this.idle.set(key, timer);
  }

  /** A stopped worker that holds no task leaves its queue, and its agent's share is free again. */
  retireIfIdle(worker: RemoteWorker): void {
    if (!worker.stopped || worker.held.size > 0 || worker.reserved > 0 || !this.registry.remove(worker)) return;
    this.workerShares.give(worker.session.agentId);
    this.detachWorker(worker);
  }

  async sessionClosed(session: Caller): Promise<void> {
    const workers = this.registry.removeSession(session);
    await Promise.all(
      workers.map(async (worker) => {
        this.workerShares.give(session.agentId);
        worker.stopped = true;
        await Promise.all([...worker.held.values()].map((held) => this.lose(held)));
        this.detachWorker(worker);
      }),
    );
  }

  /** A request came from this connection: its workers that let a lease lapse may take tasks again. */
  sawLife(session: Caller): void {
    for (const worker of this.registry.of(session)) {
      if (!worker.suspect) continue;
      worker.suspect = false;
      this.wakePump(worker.board, worker.queue);
    }
  }

  private wakePump(board: string, queue: string): void {
    this.pumps.get(`${board}\n${queue}`)?.wake();
  }

  // --- delivery and leases ---

  /**
   * The slot a task completed by `held` frees is kept for the queue's next job, which the
   * completion fetches itself (as BullMQ's own Worker does): the queue and pump to hand it
   * to, or null when the worker takes no more tasks (or another agent completes the task).
   */
  keepSlot(held: HeldTask, actorJson: string): QueuePump | null {
    const worker = held.worker;
    const pump = this.pumps.get(`${held.board}\n${held.queue}`);
    if (!pump || this.stopping || worker.stopped || worker.suspect || worker.session.closed) return null;
    if (!pump.workers.has(worker) || worker.session.actorJson !== actorJson) return null;
    worker.reserved++;
    return pump;
  }

  freeSlot(pump: QueuePump, worker: RemoteWorker): void {
    worker.reserved--;
    pump.wake();
  }

  /**
   * Completes a task a worker of this node holds (its slot kept by keepSlot) in one
   * script: BullMQ's completion, which fetches the queue's next job, the mirror, and that
   * job's activation for the same worker under a token of its own, with its mirror. The
   * completion is mirrored before this resolves; FENCED when the token lost the task.
   */
  async finish(pump: QueuePump, held: HeldTask, resultText: string, actorJson: string): Promise<void> {
    const { board, queue, taskId, worker } = held;
    // BullMQ builds the completion from the job's id and options only (MinimalJob): no Job object needed.
    const completed = { id: taskId, opts: held.opts } as unknown as Job;
    const bull = pump.backend
      .moveToCompletedArgs(completed, JSON.stringify(resultText), held.opts.removeOnComplete ?? false, held.token, true)
      .filter((a) => a !== undefined) as Array<string | number | Buffer>;
    const token = randomUUID();
    let finished: FinishResult;
    try {
      finished = await runTaskScript(this.services.store, 'task-finish-24', { board, queue, taskId, actorJson }, bull.slice(0, FINISH_KEYS) as string[], [
        token,
        worker.leaseMs,
        worker.id,
        this.services.config.MAX_TASK_LOSSES,
        ...bull.slice(FINISH_KEYS),
      ]);
    } catch (err) {
      this.freeSlot(pump, worker);
      throw err;
    } finally {
      this.dropHeld(held);
    }
    if (finished.kind === 'refused') {
      this.freeSlot(pump, worker);
      if (lostHold({ code: finished.code })) throw fenced(taskId);
      throw new Error(`completing task ${taskId} failed (BullMQ code ${finished.code})`);
    }
    const mirrored = finished.mirror.ok;
    if (finished.kind === 'next' || finished.kind === 'notDelivered') {
      const next = pump.fetched(finished.nextId, finished.nextJob);
      if (finished.kind === 'next') {
        await this.delivered(pump, next, token, worker, finished.activation);
      } else {
        const job = next.job;
        this.freeSlot(pump, worker);
        // Still locked with the finished delivery's token: back to the queue, or failed for good.
        if (finished.reason === 'mirror') await job.moveToWait(held.token).catch(() => undefined);
        else await job.moveToFailed(new UnrecoverableError(finished.reason), held.token).catch(() => undefined);
        await this.syncQuietly(board, queue, finished.nextId);
      }
    } else {
      this.freeSlot(pump, worker);
    }
    // The completion's mirror was refused (no board meta, backlog): as TaskMirror.run, rebuild or refuse.
    if (!mirrored) await this.mirror.sync(board, queue, taskId, actorJson);
  }

  async deliver(pump: QueuePump, job: Job, token: string, target: RemoteWorker): Promise<void> {
    const { board, queue } = pump;
    const taskId = String(job.id);
    let activated: ActivateResult;
    try {
      // Activation and its mirror are one script: the board shows this delivery before the
      // worker hears of it (a read after the push sees it).
      activated = await this.mirror.run(
        'task-activate-11',
        { board, queue, taskId, actorJson: target.session.actorJson },
        [jobKeys(board, queue, taskId).stalled],
        [token, target.leaseMs, target.id, this.services.config.MAX_TASK_LOSSES],
      );
    } catch (err) {
      target.reserved--;
      pump.wake();
      // Activated but not mirrored (the board refused the revision): the task goes back.
      this.log.warn({ err: (err as Error).message, board, taskId }, 'activating or mirroring a delivery failed; the task goes back');
      await job.moveToWait(token).catch(() => undefined);
      await this.syncQuietly(board, queue, taskId);
      return;
    }
    target.reserved--;
    pump.wake();
    if (!activated.ok) {
      // Not the lock's token any more: nothing to do.
      if (activated.failure === 'fenced') return;
      // Cancelled while waiting, or lost too often: it ends here, never reaching a worker.
      const reason = activated.failure === 'cancelled' ? 'cancelled' : 'lost';
      await job.moveToFailed(new UnrecoverableError(reason), token).catch(() => undefined);
      await this.syncQuietly(board, queue, taskId);
      return;
    }
    await this.hand(job, token, target, activated);
  }

  /**
   * A job task-finish activated for `target` (`activation`: task-activate's reply from the
   * attempt on): pushed like any delivery, or back to the queue when its mirror was refused.
   */
  private async delivered(pump: QueuePump, next: FetchedJob, token: string, target: RemoteWorker, activation: Activation): Promise<void> {
    target.reserved--;
    pump.wake();
    const { mirror } = activation;
    if (mirror.ok && mirror.rev > 0) this.services.store.noteCommitted(pump.board, mirror.rev);
    if (!mirror.ok) {
      this.log.warn({ board: pump.board, taskId: next.id }, 'mirroring a delivery failed; the task goes back');
      await next.job.moveToWait(token).catch(() => undefined);
      await this.syncQuietly(pump.board, pump.queue, next.id);
      return;
    }
    await this.hand(next, token, target, activation);
  }

  /**
   * Holds an activated job for `target` and pushes it (`activation`: attempt, seq,
   * checkpoint, progress): a Job the pump fetched, or one task-finish fetched.
   */
  private async hand(source: Job | FetchedJob, token: string, target: RemoteWorker, activation: Activation): Promise<void> {
    const { board, queue } = target;
    const taskId = String(source.id);
    let held: HeldTask;
    let dataText: string;
    if (source instanceof FetchedJob) {
      held = {
        board,
        queue,
        taskId,
        token,
        worker: target,
        timer: null,
        opts: source.opts,
        get job() {
          return source.job;
        },
      };
      dataText = source.dataText;
    } else {
      held = { board, queue, taskId, token, job: source, opts: source.opts, worker: target, timer: null };
      dataText = typeof source.data === 'string' ? source.data : JSON.stringify(source.data ?? null);
    }
    this.registry.hold(held);
    if (target.session.closed || this.stopping) {
      await this.lose(held);
      return;
    }
    this.armLease(held, target.leaseMs);
    target.session.push(
      encodeTaskPush(target.id, {
        taskId,
        queue,
        data: preEncoded(dataText),
        attempt: activation.attempt,
        checkpoint: preEncoded(activation.checkpoint || 'null'),
        progress: activation.progress,
        token,
      }),
    );
  }

  /** (Re)sets the timer that releases a task whose holder stops heartbeating. */
  armLease(held: HeldTask, ms: number): void {
    if (held.timer) clearTimeout(held.timer);
    held.timer = setTimeout(() => void this.leaseDue(held), Math.max(ms - LEASE_MARGIN_MS, 1));
    held.timer.unref();
  }

  private async leaseDue(held: HeldTask): Promise<void> {
    held.timer = null;
    if (this.registry.byTokenOf(held.token) !== held) return;
    const lock = jobKeys(held.board, held.queue, held.taskId).lock;
    try {
      const [owner, ttl] = await Promise.all([this.services.redis.get(lock), this.services.redis.pttl(lock)]);
      if (owner === held.token && ttl > 2 * LEASE_MARGIN_MS) {
        // Renewed through another connection: wait for the lock's own deadline.
        this.armLease(held, ttl);
      } else if (owner === held.token) {
        held.worker.suspect = true;
        await this.lose(held);
      } else {
        this.dropHeld(held);
        await this.syncQuietly(held.board, held.queue, held.taskId);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message, taskId: held.taskId }, 'checking a task lease failed');
      this.armLease(held, 1_000);
    }
  }

  /** The holder is gone: the task goes back to the front of its queue, without using up an attempt. */
  async lose(held: HeldTask): Promise<void> {
    if (!this.registry.release(held)) return;
    try {
      await held.job.moveToWait(held.token);
    } catch (err) {
      if (!lostHold(err)) this.log.warn({ err: (err as Error).message, taskId: held.taskId }, 'releasing a task failed');
    }
    this.wakePump(held.board, held.queue);
    await this.syncQuietly(held.board, held.queue, held.taskId);
  }

  /** This node no longer holds the task (it finished, or another node took it back). */
  dropHeld(held: HeldTask): void {
    if (this.registry.release(held)) this.wakePump(held.board, held.queue);
  }

  stalled(board: string, queue: string, taskId: string): void {
    const pump = this.pumps.get(`${board}\n${queue}`);
    for (const worker of pump?.workers ?? []) {
      const held = worker.held.get(taskId);
      if (held) this.dropHeld(held);
    }
    void this.syncQuietly(board, queue, taskId);
  }

  /** A task was cancelled (on any node): its holder here, if any, is told and freed. */
  cancelled(token: string): void {
    const held = this.registry.byTokenOf(token);
    if (!held) return;
    this.dropHeld(held);
    held.worker.session.push(encodeTaskCancelPush(held.taskId));
  }

  async announceCancel(token: string): Promise<void> {
    this.cancelled(token);
    await this.services.redis.publish(CANCEL_CHANNEL, token).catch(() => undefined);
  }

  async syncQuietly(board: string, queue: string, taskId: string, actorJson?: string): Promise<void> {
    try {
      await this.mirror.sync(board, queue, taskId, actorJson);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, board, taskId }, 'mirroring a task failed');
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // Tasks held here go back at once, so workers on other nodes take them without waiting for a lease.
    const held = this.registry.all().flatMap((w) => [...w.held.values()]);
    await Promise.all(held.map((h) => this.lose(h)));
    for (const timer of this.idle.values()) clearTimeout(timer);
    this.idle.clear();
    await Promise.all([...this.pumps.values()].map((p) => p.close()));
    this.pumps.clear();
    await this.queues.close();
    this.bullRedis.disconnect();
    this.subscriber.disconnect();
    this.queueRedis.disconnect();
  }
}
