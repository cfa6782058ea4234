import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { BoardEvent } from '../../shared/protocol/types.js';
import { PermanentTaskError, TaskAbortedError } from '../../client/sdk/worker.js';
import { randomBoard, startTestServer, waitFor, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  // Write admission measures this process's event loop, which the tests share with the server.
  server = await startTestServer({ env: { ADMISSION_LAG_MS: '0' } });
});
afterAll(async () => {
  await server?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('tasks through the SDK', () => {
  it('the same taskId enqueued twice is one task, with the first data', async () => {
    const board = randomBoard();
    const client = await server.client();
    expect(await client.enqueue(board, 'q', { v: 1 }, { taskId: 'dup' })).toEqual({ taskId: 'dup', created: true });
    expect(await client.enqueue(board, 'q', { v: 2 }, { taskId: 'dup' })).toEqual({ taskId: 'dup', created: false });
    const generated = await client.enqueue(board, 'q', { v: 3 });
    expect(generated.created).toBe(true);
    expect(generated.taskId).toMatch(/^[0-9a-f-]{36}$/);
    const seen: Array<{ id: string; data: unknown }> = [];
    const worker = await client.work(board, 'q', (data, ctx) => {
      seen.push({ id: ctx.taskId, data });
      return 'ok';
    });
    await waitFor(() => seen.length === 2, 10_000, 'two tasks');
    await sleep(200);
    expect(seen.filter((s) => s.id === 'dup')).toEqual([{ id: 'dup', data: { v: 1 } }]);
    await worker.stop();
  });

  it('tasks go by priority; each completion hands the next task to its worker under a token of its own', async () => {
    const board = randomBoard();
    const client = await server.client();
    const workerClient = await server.client();
    for (const [taskId, priority] of [
      ['p3', 3],
      ['p1', 1],
      ['p2', 2],
    ] as const) {
      expect(await client.enqueue(board, 'q', { taskId }, { taskId, priority })).toEqual({ taskId, created: true });
    }
    expect((await client.task(board, 'p1')).state).toBe('waiting');
    const tokens = new Map<string, string>();
    workerClient.on('push', (m) => {
      const push = m as { push?: string; task?: { taskId: string; token: string } };
      if (push.push === 'task' && push.task) tokens.set(push.task.taskId, push.task.token);
    });
    const order: string[] = [];
    const worker = await workerClient.work(board, 'q', (_data, ctx) => {
      order.push(ctx.taskId);
      return { done: ctx.taskId };
    });
    await waitFor(() => order.length === 3, 10_000, 'three tasks');
    expect(order).toEqual(['p1', 'p2', 'p3']);
    expect(new Set(tokens.values()).size).toBe(3);
    for (const taskId of order) {
      await waitFor(async () => (await client.task(board, taskId)).state === 'completed', 10_000, `${taskId} completed`);
      expect(await client.task(board, taskId)).toMatchObject({ state: 'completed', attempt: 1, result: { done: taskId } });
    }
    await worker.stop();
  });

  it('a cancelled task stops its worker through the AbortSignal; its later calls are refused', async () => {
    const board = randomBoard();
    const client = await server.client();
    const workerClient = await server.client();
    await client.enqueue(board, 'q', null, { taskId: 'c1' });
    let reason: unknown;
    let afterCancel: unknown;
    const worker = await workerClient.work(board, 'q', async (_data, ctx) => {
      await ctx.saveCheckpoint({ step: 1 });
      reason = await new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(ctx.signal.reason)));
      afterCancel = await ctx.saveCheckpoint({ step: 2 }).catch((e: unknown) => e);
    });
    await waitFor(async () => (await client.task(board, 'c1')).seq === 1, 10_000, 'first checkpoint');
    expect(await client.cancelTask(board, 'c1')).toEqual({ state: 'cancelled' });
    await waitFor(() => afterCancel !== undefined, 10_000, 'the handler to see the cancel');
    expect(reason).toBeInstanceOf(TaskAbortedError);
    expect((reason as TaskAbortedError).reason).toBe('cancelled');
    expect(afterCancel).toBeInstanceOf(TaskAbortedError);
    const task = await client.task(board, 'c1');
    expect(task).toMatchObject({ state: 'cancelled', error: 'cancelled', seq: 1, checkpoint: { step: 1 } });
    expect(await client.cancelTask(board, 'c1')).toEqual({ state: 'cancelled' });
    await worker.stop();
  });

  it('a cancelled waiting or delayed task is never delivered', async () => {
    const board = randomBoard();
    const client = await server.client();
    await client.enqueue(board, 'q', 'waiting', { taskId: 'w' });
    await client.enqueue(board, 'q', 'delayed', { taskId: 'd', delayMs: 300 });
    expect((await client.task(board, 'd')).state).toBe('delayed');
    expect(await client.cancelTask(board, 'w')).toEqual({ state: 'cancelled' });
    expect(await client.cancelTask(board, 'd')).toEqual({ state: 'cancelled' });
    await client.enqueue(board, 'q', 'control', { taskId: 'ok' });
    const seen: string[] = [];
    const worker = await client.work(board, 'q', (_d, ctx) => void seen.push(ctx.taskId));
    await waitFor(async () => (await client.task(board, 'ok')).state === 'completed', 10_000, 'control task');
    await sleep(600);
    expect(seen).toEqual(['ok']);
    expect((await client.task(board, 'w')).state).toBe('cancelled');
    await worker.stop();
  });

  it('a failing task retries with exponential backoff, then fails; a permanent error fails at once', async () => {
    const board = randomBoard();
    const client = await server.client();
    await client.enqueue(board, 'q', 'x', { taskId: 'f', attempts: 3, backoffMs: 200 });
    await client.enqueue(board, 'q', 'y', { taskId: 'p', attempts: 3, backoffMs: 200 });
    const calls: Array<{ id: string; at: number; attempt: number }> = [];
    const worker = await client.work(board, 'q', (_d, ctx) => {
      calls.push({ id: ctx.taskId, at: Date.now(), attempt: ctx.attempt });
      if (ctx.taskId === 'p') throw new PermanentTaskError('no way');
      throw new Error(`boom ${ctx.attempt}`);
    });
    await waitFor(async () => (await client.task(board, 'f')).state === 'failed', 15_000, 'final failure');
    const f = calls.filter((c) => c.id === 'f');
    expect(f.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(f[1]!.at - f[0]!.at).toBeGreaterThanOrEqual(190);
    expect(f[2]!.at - f[1]!.at).toBeGreaterThanOrEqual(390);
    expect(await client.task(board, 'f')).toMatchObject({ state: 'failed', error: 'boom 3', attempt: 3, failures: 3, losses: 0 });
    expect(await client.task(board, 'p')).toMatchObject({ state: 'failed', error: 'no way', attempt: 1, failures: 1 });
    expect(calls.filter((c) => c.id === 'p')).toHaveLength(1);
    await worker.stop();
  });

  it('a subscriber to $tasks/** sees every state change in order', async () => {
    const board = randomBoard();
    const client = await server.client();
    const events: BoardEvent[] = [];
    await client.subscribe({ board, patterns: ['$tasks/**'] }, { events: (batch) => events.push(...batch) });
    await client.enqueue(board, 'q', { n: 1 }, { taskId: 'm', attempts: 2, backoffMs: 300 });
    await client.enqueue(board, 'q', null, { taskId: 'gone', delayMs: 60_000 });
    await client.cancelTask(board, 'gone');
    const worker = await client.work(board, 'q', async (_d, ctx) => {
      await ctx.saveCheckpoint({ attempt: ctx.attempt }, 50 * ctx.attempt);
      if (ctx.attempt === 1) throw new Error('first try fails');
      return { fine: true };
    });
    await waitFor(async () => (await client.task(board, 'm')).state === 'completed', 10_000, 'completion');
    await sleep(200);
    const status = (id: string) =>
      events
        .filter((e) => e.key === `$tasks/q/${id}`)
        .map((e) => {
          const v = e.value as { state: string; attempt: number; seq: number; failures: number };
          return `${v.state}:${v.attempt}:${v.seq}:${v.failures}`;
        });
    expect(status('m')).toEqual(['waiting:0:0:0', 'active:1:0:0', 'active:1:1:0', 'delayed:1:1:1', 'active:2:1:1', 'active:2:2:1', 'completed:2:2:1']);
    expect(status('gone')).toEqual(['delayed:0:0:0', 'cancelled:0:0:0']);
    const revs = events.map((e) => e.rev);
    expect([...revs].sort((a, b) => a - b)).toEqual(revs);
    const checkpoints = events.filter((e) => e.key === '$tasks/q/m/checkpoint').map((e) => e.value);
    expect(checkpoints).toEqual([{ attempt: 1 }, { attempt: 2 }]);
    await worker.stop();
  });

  it('bad input is refused and changes nothing', async () => {
    const board = randomBoard();
    const client = await server.client();
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: unknown) => (e instanceof BlackboardError ? e.code : String(e)),
      );
    expect(await code(client.enqueue(board, 'q', 1, { taskId: '12345' }))).toBe(ErrorCode.BAD_REQUEST);
    expect(await code(client.enqueue(board, 'bad queue', 1))).toBe(ErrorCode.BAD_REQUEST);
    // BullMQ's highest priority is 2^21 - 1.
    expect(await code(client.enqueue(board, 'q', 1, { priority: 2_097_152 }))).toBe(ErrorCode.BAD_REQUEST);
    expect(await code(client.enqueue(board, 'q', 'x'.repeat(300_000)))).toBe(ErrorCode.TOO_LARGE);
    expect(await code(client.task(board, 'nothing'))).toBe(ErrorCode.NOT_FOUND);
    expect(await code(client.cancelTask(board, 'nothing'))).toBe(ErrorCode.NOT_FOUND);
    expect(await code(client.put(board, '$tasks/q/x', 1))).toBe(ErrorCode.FORBIDDEN);
    expect((await client.list(board, '$tasks/')).items).toHaveLength(0);
  });
});
