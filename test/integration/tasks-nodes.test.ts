import { afterAll, beforeAll, expect, it } from 'vitest';
import { RawSocket } from '../helpers/raw-socket.js';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

/** Two nodes on one Redis: tasks move between them, and one node's death is noticed by the other. */
const env = { TASK_STALL_CHECK_MS: '300', ADMISSION_LAG_MS: '0' };
let nodeB: TestServer;
let nodeC: TestServer;
let nodeA: ServerProcess | null = null;
beforeAll(async () => {
  nodeB = await startTestServer({ env });
  nodeC = await startTestServer({ env });
});
afterAll(async () => {
  nodeA?.child.kill('SIGKILL');
  await nodeB?.stop();
  await nodeC?.stop();
});

type Frame = Record<string, unknown>;
const firstTask = (s: RawSocket) => s.until(() => s.messages.find((m) => m.push === 'task')?.task as Frame | undefined, 15_000);

it('a node that dies holding a task: another node’s stalled check takes it back, with its checkpoint', async () => {
  const port = await freePort();
  // A real process, so that it can die without giving anything back.
  nodeA = await spawnServer(port, { ...env, LOG_LEVEL: 'error' }, 90_000);
  const board = randomBoard();
  const onA = await RawSocket.open(`ws://127.0.0.1:${port}/v1/ws`);
  await onA.call('task.enqueue', { board, queue: 'q', data: 'work', taskId: 'orphan' });
  await onA.call('task.work', { board, queue: 'q', leaseMs: 1_000 });
  const first = await firstTask(onA);
  await onA.call('task.checkpoint', { board, taskId: 'orphan', token: first.token, checkpoint: { half: true } });

  const onB = await RawSocket.open(nodeB.wsUrl);
  await onB.call('task.work', { board, queue: 'q', leaseMs: 5_000 });
  nodeA.child.kill('SIGKILL');
  await nodeA.exited;
  nodeA = null;
  const second = await firstTask(onB);
  expect(second).toMatchObject({ taskId: 'orphan', attempt: 2, checkpoint: { half: true } });
  const got = await onB.call('task.get', { board, taskId: 'orphan' });
  expect(got.result).toMatchObject({ state: 'active', attempt: 2, losses: 1 });
  onB.close();
}, 150_000);

it('a cancel sent to one node reaches the worker connected to another', async () => {
  const board = randomBoard();
  const worker = await RawSocket.open(nodeB.wsUrl);
  const admin = await RawSocket.open(nodeC.wsUrl);
  await admin.call('task.enqueue', { board, queue: 'q', data: 1, taskId: 'far' });
  await worker.call('task.work', { board, queue: 'q' });
  const task = await firstTask(worker);
  const cancel = await admin.call('task.cancel', { board, taskId: 'far' });
  expect(cancel.result).toEqual({ state: 'cancelled' });
  const push = await worker.until(() => worker.messages.find((m) => m.push === 'task.cancel'));
  expect(push).toEqual({ push: 'task.cancel', taskId: 'far' });
  const late = await worker.call('task.complete', { board, taskId: 'far', token: task.token });
  expect((late.error as Frame).code).toBe('FENCED');
  worker.close();
  admin.close();
});
