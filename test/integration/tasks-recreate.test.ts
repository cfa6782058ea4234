import { afterAll, beforeAll, expect, it } from 'vitest';
import { RawSocket } from '../helpers/raw-socket.js';
import { randomBoard, startTestServer, waitFor, type TestServer } from '../helpers/server.js';
import { recreateTasksFromBoard } from '../../server/tasks/recreate.js';
import { queuePrefix, taskIndexKey } from '../../server/tasks/keys.js';

let server: TestServer;
beforeAll(async () => {
  // Write admission measures this process's event loop, which the tests share with the server.
  server = await startTestServer({ env: { ADMISSION_LAG_MS: '0' } });
});
afterAll(async () => {
  await server?.stop();
});

type Frame = Record<string, unknown>;

/** What Redis losing a board's task data looks like: its queues and task index are gone, the board keys stay. */
async function loseQueues(board: string): Promise<void> {
  const { redis } = server.services;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${queuePrefix(board)}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.del(taskIndexKey(board));
}

it('unfinished tasks are re-created from $tasks with their checkpoint and counts; finished ones are not', async () => {
  const board = randomBoard();
  const client = await server.client();
  await client.enqueue(board, 'q', { name: 'resting' }, { taskId: 'resting', attempts: 4, backoffMs: 50 });
  await client.enqueue(board, 'q', { name: 'held', list: [] }, { taskId: 'held' });
  await client.enqueue(board, 'q', { name: 'fresh' }, { taskId: 'fresh' });
  await client.enqueue(board, 'other', { name: 'done' }, { taskId: 'done' });

  // "done" completes; "resting" is checkpointed and then lost; "held" is checkpointed and held at the loss.
  const finisher = await client.work(board, 'other', () => 'ok');
  await waitFor(async () => (await client.task(board, 'done')).state === 'completed', 10_000, 'done');
  await finisher.stop();
  const raw = await RawSocket.open(server.wsUrl);
  const work = await raw.call('task.work', { board, queue: 'q', concurrency: 2, leaseMs: 60_000 });
  const rawWorker = (work.result as Frame).worker;
  const pushes = () => raw.messages.filter((m) => m.push === 'task').map((m) => m.task as Frame);
  await raw.until(() => (pushes().length >= 2 ? true : undefined));
  const byId = (id: string) => pushes().find((t) => t.taskId === id)!;
  const resting = byId('resting');
  const held = byId('held');
  expect(resting && held).toBeTruthy();
  await raw.call('task.checkpoint', { board, taskId: 'resting', token: resting.token, checkpoint: { at: 'r1' } });
  await raw.call('task.checkpoint', { board, taskId: 'held', token: held.token, checkpoint: { at: 'h1' } });
  await raw.call('task.checkpoint', { board, taskId: 'held', token: held.token, checkpoint: { at: 'h2' } });
  await raw.call('task.stop', { worker: rawWorker });
  await raw.call('task.fail', { board, taskId: 'resting', token: resting.token, error: 'transient' });

  await loseQueues(board);
  expect(await recreateTasksFromBoard(board, server.services)).toBe(3);
  expect(await recreateTasksFromBoard(board, server.services)).toBe(0);

  // The old holder's token died with the data.
  const stale = await raw.call('task.heartbeat', { board, taskId: 'held', token: held.token });
  expect((stale.error as Frame).code).toBe('FENCED');

  const seen = new Map<string, { attempt: number; checkpoint: unknown; data: unknown }>();
  const worker = await client.work(
    board,
    'q',
    (data, ctx) => {
      seen.set(ctx.taskId, { attempt: ctx.attempt, checkpoint: ctx.checkpoint, data });
      return 'again';
    },
    { concurrency: 3 },
  );
  await waitFor(() => seen.size === 3, 10_000, 'three deliveries');
  expect(seen.get('held')).toEqual({ attempt: 2, checkpoint: { at: 'h2' }, data: { name: 'held', list: [] } });
  expect(seen.get('resting')).toMatchObject({ attempt: 2, checkpoint: { at: 'r1' } });
  expect(seen.get('fresh')).toMatchObject({ attempt: 1, checkpoint: null });
  await waitFor(async () => (await client.task(board, 'held')).state === 'completed', 10_000, 'held completes');
  expect(await client.task(board, 'held')).toMatchObject({ attempt: 2, losses: 1, seq: 2 });
  expect(await client.task(board, 'resting')).toMatchObject({ attempt: 2, failures: 1, attempts: 4 });
  expect(await client.task(board, 'done')).toMatchObject({ state: 'completed', result: 'ok' });
  await worker.stop();
  raw.close();
});
