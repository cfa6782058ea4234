// What tasks hand BullMQ, and take from it, without its Job objects: held to BullMQ's own encoding and decoding.
import { Job, type JobsOptions, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { queuePrefix } from '../../server/tasks/keys.js';
import { FetchedJob } from '../../server/tasks/pump.js';
import { type EnqueueRequest, TaskQueues } from '../../server/tasks/queues.js';

// Nothing is sent: the client only has to exist (no Redis answers on port 1).
const redis = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
redis.on('error', () => undefined);
const queues = new TaskQueues(redis);

/** What BullMQ's own `Job.addJob` sends for the same job, taken down the same way. */
async function bullmqCall(req: EnqueueRequest & { taskId: string }, name: string, opts: JobsOptions) {
  const queue = new Queue(req.queue, { connection: redis, prefix: queuePrefix(req.board) });
  queue.on('error', () => undefined);
  let taken: { script: string; list: Array<string | Buffer> } | null = null;
  const takeDown = {
    runCommand(command: string, list: Array<string | Buffer>) {
      taken = { script: command.split(':')[0]!, list };
      return Promise.resolve(req.taskId);
    },
  };
  await new Job(queue, name, req.dataText, opts, req.taskId).addJob(takeDown as never);
  await queue.close();
  return taken!;
}

describe('a task enqueue built without a BullMQ Job', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    await queues.close();
    redis.disconnect();
  });

  it.each([
    ['standard', {}, 'addStandardJob'],
    ['prioritized', { priority: 7 }, 'addPrioritizedJob'],
    ['delayed', { delayMs: 1_500 }, 'addDelayedJob'],
    ['delayed and prioritized', { delayMs: 20, priority: 2_097_151 }, 'addDelayedJob'],
    ['its own attempts and backoff', { attempts: 9, backoffMs: 0 }, 'addStandardJob'],
  ] as const)('sends what Job.addJob sends, byte for byte: %s', async (_name, extra, script) => {
    vi.useFakeTimers({ now: 1_800_000_000_000, toFake: ['Date'] });
    const req = { board: 'b/x', queue: 'q.1', taskId: 'task-7', dataText: '{"n":12345678901234567890,"a":[]}', ...extra };
    const ours = await queues.addCall(req, 'nonce-1');
    const opts: JobsOptions = {
      jobId: req.taskId,
      attempts: 'attempts' in extra ? extra.attempts : 3,
      backoff: { type: 'exponential', delay: 'backoffMs' in extra ? extra.backoffMs : 1_000 },
      ...('delayMs' in extra ? { delay: extra.delayMs } : {}),
      ...('priority' in extra ? { priority: extra.priority } : {}),
      stackTraceLimit: 0,
      removeOnComplete: false,
      removeOnFail: false,
    };
    const theirs = await bullmqCall(req, 'nonce-1', opts);
    expect(ours.script).toBe(script);
    expect(theirs.script).toBe(script);
    expect([...ours.keys, ...ours.args]).toEqual(theirs.list);
  });
});

describe('a job a completion fetched, before any BullMQ call needs its Job', () => {
  it('has the data text and the options BullMQ decodes from its fields', async () => {
    const connection = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: null });
    connection.on('error', () => undefined);
    const worker = new Worker('q', null, { connection, prefix: queuePrefix('b'), autorun: false });
    worker.on('error', () => undefined);
    const opts = {
      attempts: 4,
      jobId: 't1',
      backoff: { type: 'exponential', delay: 250 },
      fpof: true,
      priority: 3,
      stackTraceLimit: 0,
      removeOnComplete: false,
    };
    for (const dataText of ['{"n":12345678901234567890,"a":[]}', 'null', '"text"']) {
      const fields = ['name', 'nonce', 'data', JSON.stringify(dataText), 'opts', JSON.stringify(opts), 'timestamp', '1800000000000', 'atm', '1', 'bbTry', '2'];
      const fetched = new FetchedJob(worker, 't1', fields);
      expect(fetched.dataText).toBe(dataText);
      expect(fetched.opts).toEqual(fetched.job.opts);
      expect(fetched.opts).toMatchObject({ attempts: 4, failParentOnFailure: true, removeOnComplete: false });
      expect(fetched.job.data).toBe(dataText);
      expect(fetched.job.attemptsMade).toBe(1);
    }
    await worker.close(true);
    connection.disconnect();
  });
});
