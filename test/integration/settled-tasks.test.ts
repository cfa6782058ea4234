import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '../helpers/bystander.js';
import { freePort, spawnServer, stopServer, type ServerProcess } from '../helpers/process-server.js';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard } from '../helpers/server.js';

/** The task rules of PROTOCOL.md's "Settled after v1 shipped", one test each, against a server process. */

type Frame = Record<string, unknown>;
interface Task {
  taskId: string;
  queue: string;
  data: unknown;
  attempt: number;
  checkpoint: unknown;
  progress: number;
  token: string;
}

let proc: ServerProcess;
beforeAll(async () => {
  proc = await spawnServer(await freePort(), { HISTORY_ENABLED: 'false' });
});
afterAll(() => stopServer(proc));

const open = () => RawSocket.open(`ws://127.0.0.1:${proc.port}/v1/ws`);
const result = <T = Frame>(reply: Frame): T => {
  expect(reply.ok, JSON.stringify(reply.error)).toBe(true);
  return reply.result as T;
};
const taskPushes = (s: RawSocket) => s.messages.filter((m) => m.push === 'task').map((m) => m.task as Task);
const MIRROR_FIELDS = ['state', 'attempt', 'attempts', 'failures', 'losses', 'progress', 'seq'];
const OPTIONAL_FIELDS = ['worker', 'error', 'result'];

async function mirror(s: RawSocket, board: string, queue: string, taskId: string): Promise<Frame> {
  return result<{ value: Frame }>(await s.call('get', { board, key: `$tasks/${queue}/${taskId}` })).value;
}

function expectMirrorShape(value: Frame): void {
  for (const field of MIRROR_FIELDS) expect(value, field).toHaveProperty(field);
  for (const field of Object.keys(value)) expect([...MIRROR_FIELDS, ...OPTIONAL_FIELDS]).toContain(field);
  for (const field of ['attempt', 'attempts', 'failures', 'losses', 'progress', 'seq']) expect(typeof value[field]).toBe('number');
}

describe('settled task rules', () => {
  it('queue names match [A-Za-z0-9_.-]{1,64}', async () => {
    const board = randomBoard('tq');
    const s = await open();
    for (const queue of ['a/b', 'a b', '', 'x'.repeat(65), 'ü', '$q']) {
      expect(errorCode(await s.call('task.enqueue', { board, queue, data: 1 })), queue).toBe('BAD_REQUEST');
      expect(errorCode(await s.call('task.work', { board, queue })), queue).toBe('BAD_REQUEST');
    }
    for (const queue of ['x'.repeat(64), 'A-z_0.9']) expect((await s.call('task.enqueue', { board, queue, data: 1 })).ok, queue).toBe(true);
    s.close();
  });

  it('retryable defaults to true', async () => {
    const board = randomBoard('tr');
    const s = await open();
    const { taskId } = result<{ taskId: string }>(await s.call('task.enqueue', { board, queue: 'q', data: 1, attempts: 3, backoffMs: 0 }));
    result(await s.call('task.work', { board, queue: 'q' }));
    const first = await s.until(() => taskPushes(s)[0]);
    expect(result(await s.call('task.fail', { board, taskId, token: first.token, error: 'flaky' }))).toEqual({ willRetry: true });
    const second = await s.until(() => taskPushes(s)[1]);
    expect(second).toMatchObject({ taskId, attempt: 2 });
    s.close();
  });

  it('an unknown task is NOT_FOUND', async () => {
    const board = randomBoard('tn');
    const s = await open();
    // The board has tasks, just not this one.
    result(await s.call('task.enqueue', { board, queue: 'q', data: 1, taskId: 'known' }));
    const taskId = 'unknown';
    const calls: Array<[string, Frame]> = [
      ['task.get', { board, taskId }],
      ['task.cancel', { board, taskId }],
      ['task.heartbeat', { board, taskId, token: 't' }],
      ['task.checkpoint', { board, taskId, token: 't', checkpoint: 1 }],
      ['task.complete', { board, taskId, token: 't' }],
      ['task.fail', { board, taskId, token: 't', error: 'e' }],
    ];
    for (const [op, args] of calls) expect(errorCode(await s.call(op, args)), op).toBe('NOT_FOUND');
    s.close();
  });

  it('progress is a number 0–100, the latest from a heartbeat or checkpoint', async () => {
    const board = randomBoard('tp');
    const s = await open();
    const { taskId } = result<{ taskId: string }>(await s.call('task.enqueue', { board, queue: 'q', data: 1 }));
    result(await s.call('task.work', { board, queue: 'q' }));
    const { token } = await s.until(() => taskPushes(s)[0]);
    for (const progress of [-1, 100.5, 101, '50', null]) {
      expect(errorCode(await s.call('task.heartbeat', { board, taskId, token, progress })), String(progress)).toBe('BAD_REQUEST');
    }
    const seen = async () => [
      result<{ progress: number }>(await s.call('task.get', { board, taskId })).progress,
      (await mirror(s, board, 'q', taskId)).progress,
    ];
    result(await s.call('task.heartbeat', { board, taskId, token, progress: 12.5 }));
    expect(await seen()).toEqual([12.5, 12.5]);
    result(await s.call('task.checkpoint', { board, taskId, token, checkpoint: { at: 1 }, progress: 100 }));
    expect(await seen()).toEqual([100, 100]);
    result(await s.call('task.heartbeat', { board, taskId, token, progress: 0 }));
    expect(await seen()).toEqual([0, 0]);
    s.close();
  });

  it('a lost task is redelivered within 1 s once a worker is free, with attempt + 1, its last checkpoint and a new token', async () => {
    const board = randomBoard('tl');
    const a = await open();
    const b = await open();
    const { taskId } = result<{ taskId: string }>(await a.call('task.enqueue', { board, queue: 'q', data: 1 }));
    result(await a.call('task.work', { board, queue: 'q' }));
    const first = await a.until(() => taskPushes(a)[0]);
    result(await a.call('task.checkpoint', { board, taskId, token: first.token, checkpoint: { step: 7 } }));
    result(await b.call('task.work', { board, queue: 'q' }));
    const lostAt = Date.now();
    a.close();
    const again = await b.until(() => taskPushes(b)[0], 10_000);
    const after = Date.now() - lostAt;
    console.info(`lost task redelivered after ${after} ms`);
    expect(after).toBeLessThanOrEqual(1_000);
    expect(again).toMatchObject({ taskId, attempt: first.attempt + 1, checkpoint: { step: 7 } });
    expect(again.token).not.toBe(first.token);
    b.close();
  });

  it('a task whose worker stops heartbeating is redelivered within 1 s of its lease running out', async () => {
    const board = randomBoard('th');
    const a = await open();
    const b = await open();
    const { taskId } = result<{ taskId: string }>(await a.call('task.enqueue', { board, queue: 'q', data: 1 }));
    result(await a.call('task.work', { board, queue: 'q', leaseMs: 1_000 }));
    const first = await a.until(() => taskPushes(a)[0]);
    const leaseEnds = Date.now() + 1_000;
    result(await b.call('task.work', { board, queue: 'q' }));
    const again = await b.until(() => taskPushes(b)[0], 10_000);
    const late = Date.now() - leaseEnds;
    console.info(`lapsed task redelivered ${late} ms after its lease ended`);
    expect(late).toBeLessThanOrEqual(1_000);
    expect(again).toMatchObject({ taskId, attempt: first.attempt + 1 });
    expect(errorCode(await a.call('task.heartbeat', { board, taskId, token: first.token }))).toBe('FENCED');
    a.close();
    b.close();
  });

  it('$tasks/<queue>/<id> holds exactly its fields and is written before the reply or task push that reflects it', async () => {
    const board = randomBoard('tm');
    const s = await open();
    const reader = await open();
    const rounds = 20;
    const ids: string[] = [];
    for (let i = 0; i < rounds; i++) {
      const { taskId } = result<{ taskId: string }>(await s.call('task.enqueue', { board, queue: 'q', data: i, attempts: 2 }));
      // After the reply: there, waiting.
      const waiting = await mirror(reader, board, 'q', taskId);
      expectMirrorShape(waiting);
      expect(waiting).toMatchObject({ state: 'waiting', attempt: 0, attempts: 2, failures: 0, losses: 0, seq: 0 });
      ids.push(taskId);
    }
    result(await s.call('task.work', { board, queue: 'q', concurrency: 1 }));
    for (let i = 0; i < rounds; i++) {
      const task = await s.until(() => taskPushes(s)[i], 10_000);
      // Read as soon as the push is in: the mirror already shows this delivery.
      const active = await mirror(s, board, 'q', task.taskId);
      expectMirrorShape(active);
      expect(active).toMatchObject({ state: 'active', attempt: task.attempt });
      expect(typeof active.worker).toBe('string');
      const checkpointed = result<{ seq: number }>(
        await s.call('task.checkpoint', { board, taskId: task.taskId, token: task.token, checkpoint: i, progress: 50 }),
      );
      expect(await mirror(reader, board, 'q', task.taskId)).toMatchObject({ seq: checkpointed.seq, progress: 50 });
      if (i % 2 === 0) {
        result(await s.call('task.complete', { board, taskId: task.taskId, token: task.token, result: { i } }));
        const done = await mirror(reader, board, 'q', task.taskId);
        expectMirrorShape(done);
        expect(done).toMatchObject({ state: 'completed', result: { i } });
        expect(done).not.toHaveProperty('worker');
      } else {
        result(await s.call('task.fail', { board, taskId: task.taskId, token: task.token, error: 'no', retryable: false }));
        const failed = await mirror(reader, board, 'q', task.taskId);
        expectMirrorShape(failed);
        expect(failed).toMatchObject({ state: 'failed', error: 'no', failures: 1 });
      }
    }
    // Cancelled while waiting: the reply reflects it, and so does the mirror.
    const { taskId } = result<{ taskId: string }>(await s.call('task.enqueue', { board, queue: 'other', data: 0 }));
    expect(result(await s.call('task.cancel', { board, taskId }))).toEqual({ state: 'cancelled' });
    expect(await mirror(reader, board, 'other', taskId)).toMatchObject({ state: 'cancelled' });
    s.close();
    reader.close();
  });

  it('a task.cancel push comes after the mirror shows the task cancelled', async () => {
    const board = randomBoard('tc');
    const worker = await open();
    const other = await open();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(result<{ taskId: string }>(await other.call('task.enqueue', { board, queue: 'q', data: i })).taskId);
    result(await worker.call('task.work', { board, queue: 'q', concurrency: 10 }));
    await worker.until(() => (taskPushes(worker).length === 10 ? true : undefined), 10_000);
    for (const taskId of ids) {
      // Read the moment the push is in, without waiting for the canceller's reply.
      const cancelling = other.call('task.cancel', { board, taskId });
      await worker.until(() => worker.messages.find((m) => m.push === 'task.cancel' && m.taskId === taskId));
      expect(await mirror(worker, board, 'q', taskId)).toMatchObject({ state: 'cancelled' });
      expect(result(await cancelling)).toEqual({ state: 'cancelled' });
    }
    worker.close();
    other.close();
  });
});
