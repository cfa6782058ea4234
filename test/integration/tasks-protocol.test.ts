import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawSocket } from '../helpers/raw-socket.js';
import { coreBackends } from '../helpers/backends.js';
import { randomBoard, waitFor, type TestServer } from '../helpers/server.js';

type Frame = Record<string, unknown>;
const result = (reply: Frame) => reply.result as Frame;
const errorCode = (reply: Frame) => (reply.error as { code?: string } | undefined)?.code;
const taskPushes = (s: RawSocket) => s.messages.filter((m) => m.push === 'task').map((m) => m.task as Frame);

describe.each(coreBackends())('task protocol on $name', (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    // Write admission measures this process's event loop, which the tests share with the server.
    server = await backend.start({ MAX_TASK_LOSSES: '2', ADMISSION_LAG_MS: '0' });
  });
  afterAll(async () => {
    await backend.stop();
  });

  it('enqueue, work, heartbeat, checkpoint, complete; other tokens are FENCED', async () => {
    const board = randomBoard();
    const s = await RawSocket.open(server.wsUrl);
    const enq = await s.call('task.enqueue', { board, queue: 'q', data: { n: 12345678901234567890, a: [] }, taskId: 't1' });
    expect(result(enq)).toEqual({ taskId: 't1', created: true });
    const again = await s.call('task.enqueue', { board, queue: 'q', data: { other: true }, taskId: 't1' });
    expect(result(again)).toEqual({ taskId: 't1', created: false });
    const other = await s.call('task.enqueue', { board, queue: 'q2', data: 1, taskId: 't1' });
    expect(errorCode(other)).toBe('CONFLICT');

    const work = await s.call('task.work', { board, queue: 'q', leaseMs: 5_000 });
    const worker = result(work).worker as string;
    const workIndex = s.messages.indexOf(work);
    const task = await s.until(() => taskPushes(s)[0]);
    const pushIndex = s.messages.findIndex((m) => m.push === 'task');
    expect(pushIndex).toBeGreaterThan(workIndex);
    expect(s.messages[pushIndex]!.worker).toBe(worker);
    expect(task).toMatchObject({ taskId: 't1', queue: 'q', attempt: 1, checkpoint: null, progress: 0 });
    expect(JSON.stringify(task.data)).toContain('"a":[]');
    const token = task.token as string;

    expect(result(await s.call('task.heartbeat', { board, taskId: 't1', token, progress: 10 }))).toEqual({ ok: true });
    expect(result(await s.call('task.checkpoint', { board, taskId: 't1', token, checkpoint: { step: 1 } }))).toEqual({ seq: 1 });
    expect(result(await s.call('task.checkpoint', { board, taskId: 't1', token, checkpoint: { step: 2 }, progress: 50 }))).toEqual({ seq: 2 });
    expect(errorCode(await s.call('task.heartbeat', { board, taskId: 't1', token: 'nope' }))).toBe('FENCED');
    expect(errorCode(await s.call('task.checkpoint', { board, taskId: 't1', token: 'nope', checkpoint: 1 }))).toBe('FENCED');
    expect(errorCode(await s.call('task.complete', { board, taskId: 't1', token: 'nope', result: 1 }))).toBe('FENCED');
    expect(errorCode(await s.call('task.fail', { board, taskId: 't1', token: 'nope', error: 'x' }))).toBe('FENCED');
    const mid = result(await s.call('task.get', { board, taskId: 't1' }));
    expect(mid).toMatchObject({ state: 'active', attempt: 1, progress: 50, seq: 2, checkpoint: { step: 2 } });

    expect(result(await s.call('task.complete', { board, taskId: 't1', token, result: { done: [] } }))).toEqual({ ok: true });
    expect(errorCode(await s.call('task.complete', { board, taskId: 't1', token, result: 2 }))).toBe('FENCED');
    const done = result(await s.call('task.get', { board, taskId: 't1' }));
    expect(done).toMatchObject({ state: 'completed', attempt: 1, result: { done: [] }, checkpoint: { step: 2 } });

    const mirror = result(await s.call('get', { board, key: '$tasks/q/t1' }));
    expect(mirror.value).toMatchObject({ state: 'completed', attempt: 1, seq: 2, progress: 50 });
    const cp = result(await s.call('get', { board, key: '$tasks/q/t1/checkpoint' }));
    expect(cp.value).toEqual({ step: 2 });
    expect(errorCode(await s.call('task.get', { board, taskId: 'missing' }))).toBe('NOT_FOUND');
    expect(errorCode(await s.call('task.stop', { worker: 'w-unknown' }))).toBe('NOT_FOUND');
    expect(result(await s.call('task.stop', { worker }))).toEqual({ stopped: true });
    s.close();
  });

  it('a disconnected worker loses its task at once; it resumes elsewhere with the checkpoint, attempt + 1, a new token', async () => {
    const board = randomBoard();
    const a = await RawSocket.open(server.wsUrl);
    const b = await RawSocket.open(server.wsUrl);
    await a.call('task.enqueue', { board, queue: 'q', data: null, taskId: 'x' });
    await a.call('task.work', { board, queue: 'q' });
    const first = await a.until(() => taskPushes(a)[0]);
    await a.call('task.checkpoint', { board, taskId: 'x', token: first.token, checkpoint: { at: 3 } });
    await b.call('task.work', { board, queue: 'q' });
    a.close();
    const second = await b.until(() => taskPushes(b)[0]);
    expect(second).toMatchObject({ taskId: 'x', attempt: 2, checkpoint: { at: 3 } });
    expect(second.token).not.toBe(first.token);
    const got = result(await b.call('task.get', { board, taskId: 'x' }));
    expect(got).toMatchObject({ state: 'active', attempt: 2, losses: 1, failures: 0 });
    expect(errorCode(await b.call('task.checkpoint', { board, taskId: 'x', token: first.token, checkpoint: 0 }))).toBe('FENCED');
    b.close();
  });

  it('a completion that delivers the next task mirrors both in one revision, before the reply and the push', async () => {
    const board = randomBoard();
    const s = await RawSocket.open(server.wsUrl);
    await s.call('task.enqueue', { board, queue: 'q', data: 1, taskId: 'first' });
    await s.call('task.enqueue', { board, queue: 'q', data: 2, taskId: 'second' });
    await s.call('task.work', { board, queue: 'q', concurrency: 1 });
    const first = await s.until(() => taskPushes(s)[0]);
    expect(first.taskId).toBe('first');
    expect(result(await s.call('task.complete', { board, taskId: 'first', token: first.token, result: 'ok' }))).toEqual({ ok: true });
    const second = await s.until(() => taskPushes(s)[1]);
    expect(second).toMatchObject({ taskId: 'second', attempt: 1 });
    const done = result(await s.call('get', { board, key: '$tasks/q/first' }));
    const next = result(await s.call('get', { board, key: '$tasks/q/second' }));
    expect(done.value).toMatchObject({ state: 'completed', attempt: 1 });
    expect(next.value).toMatchObject({ state: 'active', attempt: 1 });
    expect(next.modRev).toBe(done.modRev);
    expect(result(await s.call('task.complete', { board, taskId: 'second', token: second.token }))).toEqual({ ok: true });
    expect(result(await s.call('task.get', { board, taskId: 'second' }))).toMatchObject({ state: 'completed' });
    s.close();
  });

  it('more than MAX_TASK_LOSSES losses fail the task with error "lost"', async () => {
    const board = randomBoard();
    const c = await RawSocket.open(server.wsUrl);
    await c.call('task.enqueue', { board, queue: 'q', data: 1, taskId: 'l' });
    for (let i = 0; i < 3; i++) {
      const w = await RawSocket.open(server.wsUrl);
      await w.call('task.work', { board, queue: 'q' });
      const t = await w.until(() => taskPushes(w)[0]);
      expect(t.attempt).toBe(i + 1);
      w.close();
      await w.waitClose();
    }
    const last = await RawSocket.open(server.wsUrl);
    await last.call('task.work', { board, queue: 'q' });
    await waitFor(async () => result(await c.call('task.get', { board, taskId: 'l' })).state === 'failed', 10_000, 'failed');
    expect(result(await c.call('task.get', { board, taskId: 'l' }))).toMatchObject({ state: 'failed', error: 'lost', losses: 3 });
    expect(taskPushes(last)).toHaveLength(0);
    last.close();
    c.close();
  });
});
