import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { call, mcpClient, ok, outputErrors, type TestMcpClient, type Transport } from '../helpers/mcp.js';
import { randomBoard } from '../helpers/server.js';
import { testDatabase, type TestDatabase } from '../helpers/pg-database.js';
import { startRedisProcess, type RedisProcess } from '../helpers/redis-process.js';

/** Acceptance 1: initialize, tools/list, and every tool with valid and invalid input, over both transports. */

let server: ServerProcess;
let target: { baseUrl: string; wsUrl: string };
let db: TestDatabase;
let redis: RedisProcess;

beforeAll(async () => {
  const port = await freePort();
  // With history in a database of its own (and a Redis of its own, so the persister has only
  // this test's boards to write): board_search reads the index the persister keeps there.
  db = testDatabase();
  redis = await startRedisProcess();
  server = await spawnServer(port, { DATABASE_URL: db.url, REDIS_URL: redis.url });
  target = { baseUrl: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}` };
});
afterAll(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
  await db?.drop();
  await redis?.stop();
});

const EXPECTED_TOOLS = [
  'board_get',
  'board_list',
  'board_put',
  'board_patch',
  'board_delete',
  'board_txn',
  'board_history',
  'board_search',
  'boards',
  'board_update',
  'lock_acquire',
  'lock_release',
  'task_enqueue',
  'task_get',
  'task_cancel',
  'task_claim',
  'task_checkpoint',
  'task_complete',
  'task_fail',
];

/** Arguments each tool must refuse with BAD_REQUEST before anything is sent to the board. */
const INVALID: Record<string, Record<string, unknown>> = {
  board_get: { key: '' },
  board_list: { limit: 0 },
  board_put: { key: 'a' },
  board_patch: { key: 'a', patch: 'add one' },
  board_delete: { key: 'a//b' },
  board_txn: { ops: [] },
  board_history: { limit: -1 },
  board_search: { query: '' },
  boards: { prefix: 5 },
  board_update: { key: 'c', value: 2 },
  lock_acquire: { name: 'l', ttl_ms: 1 },
  lock_release: { name: 'l', token: 0 },
  task_enqueue: { queue: 'no spaces allowed', data: 1 },
  task_get: { task_id: '123' },
  task_cancel: { task_id: '' },
  task_claim: { queue: 'q', wait_ms: -1 },
  task_checkpoint: { task_id: 't1', token: '', checkpoint: 1 },
  task_complete: { task_id: 't1' },
  task_fail: { task_id: 't1', token: 'x' },
};

describe.each<Transport>(['http', 'stdio'])('MCP over %s', (transport) => {
  let c: TestMcpClient;
  let tools: Map<string, Tool>;
  const board = randomBoard('mcpt');
  const called = { valid: new Set<string>(), invalid: new Set<string>() };

  beforeAll(async () => {
    c = await mcpClient(transport, target, { board });
  });
  afterAll(async () => {
    await c?.close();
  });

  /** Calls a tool, checks its result (success or error) against its outputSchema, and returns it. */
  async function checked(name: string, args: Record<string, unknown>, expectCode?: string) {
    const outcome = await call(c, name, args);
    expect(outputErrors(tools.get(name)!, outcome.structured), `${name} result against its outputSchema`).toBe('');
    expect(outcome.code, `${name} ${JSON.stringify(args)} → ${JSON.stringify(outcome.result.content)}`).toBe(expectCode);
    if (expectCode === undefined) called.valid.add(name);
    else if (expectCode === 'BAD_REQUEST') called.invalid.add(name);
    return outcome.structured;
  }

  it('initializes, and lists every tool with a description, input and output schemas and annotations', async () => {
    expect(c.client.getServerVersion()?.name).toBe('blackboard');
    expect(c.client.getServerCapabilities()?.resources?.subscribe).toBe(true);
    const listed = (await c.client.listTools()).tools;
    tools = new Map(listed.map((t) => [t.name, t]));
    expect([...tools.keys()].sort()).toEqual([...EXPECTED_TOOLS].sort());
    for (const t of listed) {
      expect(t.description?.length, t.name).toBeGreaterThan(40);
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type).toBe('object');
      expect(typeof t.annotations?.readOnlyHint, t.name).toBe('boolean');
    }
    expect(tools.get('board_get')!.annotations?.readOnlyHint).toBe(true);
    expect(tools.get('board_put')!.annotations?.readOnlyHint).toBe(false);
  });

  it('runs every tool with valid input, each result matching its outputSchema', async () => {
    expect((await checked('board_put', { key: 'a', value: { n: 1 } })).version).toBe(1);
    expect((await checked('board_get', { key: 'a' })).value).toEqual({ n: 1 });
    expect((await checked('board_list', { prefix: '' })).items).toEqual([expect.objectContaining({ key: 'a', version: 1 })]);
    expect((await checked('board_patch', { key: 'a', patch: [{ op: 'add', path: '/m', value: 2 }] })).value).toEqual({ n: 1, m: 2 });
    const txn = await checked('board_txn', {
      compare: [{ key: 'a', version: 2 }],
      ops: [
        { op: 'put', key: 'b', value: [] },
        { op: 'delete', key: 'a' },
      ],
    });
    expect(txn.results).toEqual([{ version: 1 }, {}]);
    await checked('board_delete', { key: 'b' });
    expect(await checked('board_update', { key: 'c' })).toEqual({ committed: false, key: 'c', version: 0 });
    expect(await checked('board_update', { key: 'c', value: 1, version: 0 })).toMatchObject({ committed: true, version: 1, value: 1 });
    const history = await checked('board_history', {});
    expect((history.events as Array<{ key: string }>).map((e) => e.key)).toEqual(['a', 'a', 'b', 'a', 'b', 'c']);
    expect((await checked('boards', {})).boards).toContainEqual(expect.objectContaining({ board }));
    const note = await checked('board_put', { key: 'notes/release', value: { text: 'Ship the release on Friday' } });
    const found = await checked('board_search', { query: 'relaese friday', min_rev: note.rev });
    expect(found).toMatchObject({ fuzzy: true, more: false, items: [{ key: 'notes/release', version: 1 }] });
    expect((found.items as Array<{ highlights: unknown }>)[0]!.highlights).toEqual([
      {
        path: '/text',
        text: 'Ship the release on Friday',
        marks: [
          [9, 16],
          [20, 26],
        ],
      },
    ]);

    const lock = await checked('lock_acquire', { name: 'l', ttl_ms: 10_000 });
    expect(typeof lock.token).toBe('number');
    await checked('board_put', { key: 'fenced', value: 1, fence: { lock: 'l', token: lock.token } });
    expect(await checked('lock_release', { name: 'l', token: lock.token })).toEqual({ released: true });

    expect(await checked('task_enqueue', { queue: 'q', data: { x: 1 }, task_id: 't1' })).toEqual({ task_id: 't1', created: true });
    expect((await checked('task_get', { task_id: 't1' })).state).toBe('waiting');
    const claim = await checked('task_claim', { queue: 'q', wait_ms: 10_000 });
    const task = claim.task as { task_id: string; token: string; attempt: number; checkpoint: unknown };
    expect([claim.claimed, task.task_id, task.attempt, task.checkpoint]).toEqual([true, 't1', 1, null]);
    expect((await checked('task_checkpoint', { task_id: 't1', token: task.token, checkpoint: { step: 1 }, progress: 50 })).seq).toBe(1);
    expect(await checked('task_complete', { task_id: 't1', token: task.token, result: 'done' })).toEqual({ ok: true });
    expect(await checked('task_get', { task_id: 't1' })).toMatchObject({ state: 'completed', result: 'done' });

    await checked('task_enqueue', { queue: 'q', data: 2, task_id: 't2' });
    const second = (await checked('task_claim', { queue: 'q', wait_ms: 10_000 })).task as { token: string };
    expect(await checked('task_fail', { task_id: 't2', token: second.token, error: 'no good', retryable: false })).toEqual({
      will_retry: false,
    });
    await checked('task_enqueue', { queue: 'q', data: 3, task_id: 't3', delay_ms: 60_000 });
    expect(await checked('task_cancel', { task_id: 't3' })).toEqual({ state: 'cancelled' });
    expect(await checked('task_claim', { queue: 'q', wait_ms: 200 })).toEqual({ claimed: false });

    expect(called.valid).toEqual(new Set(EXPECTED_TOOLS));
  });

  it('answers invalid input with a BAD_REQUEST tool error naming the field, and changes nothing', async () => {
    const before = await ok(c, 'board_history', {});
    for (const [name, args] of Object.entries(INVALID)) {
      const error = (await checked(name, args, 'BAD_REQUEST')).error as { message: string };
      expect(error.message.length, name).toBeGreaterThan(10);
    }
    // An unknown argument (a typo) is refused too, never ignored.
    await checked('board_put', { key: 'a', value: 1, ifversion: 0 }, 'BAD_REQUEST');
    expect(await ok(c, 'board_history', {})).toEqual(before);
    expect(called.invalid).toEqual(new Set(EXPECTED_TOOLS));
  });

  it("passes the server's own errors through with their code and details", async () => {
    await checked('board_get', { key: 'missing' }, 'NOT_FOUND');
    const conflict = (await checked('board_put', { key: 'c', value: 5, if_version: 7 }, 'CONFLICT')).error as {
      details: { current: { version: number; value: unknown } };
    };
    expect(conflict.details.current).toMatchObject({ version: 1, value: 1 });
    await checked('board_put', { key: '$locks/x', value: 1 }, 'FORBIDDEN');
    await checked('lock_release', { name: 'never', token: 99 }, 'FENCED');
    // A tool the server does not have is a protocol error, not a tool result.
    await expect(c.client.callTool({ name: 'board_teleport', arguments: {} })).rejects.toThrow(/Unknown tool/);
  });
});
