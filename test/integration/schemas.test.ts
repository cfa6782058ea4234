import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlackboardError, ErrorCode, type BlackboardClient } from '../../client/sdk/index.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';
import { testDatabase, type TestDatabase } from '../helpers/pg-database.js';
import { startRedisProcess, type RedisProcess } from '../helpers/redis-process.js';

let db: TestDatabase;
let redis: RedisProcess;
let nodes: TestServer[];

beforeAll(async () => {
  // A Redis and a database of their own, so this file's history reads see every event.
  redis = await startRedisProcess();
  db = testDatabase('bbschema');
  const env = { REDIS_URL: redis.url, DATABASE_URL: db.url };
  // Two nodes on one Redis: a schema registered on one governs writes on the other at once.
  nodes = [await startTestServer({ env }), await startTestServer({ env })];
});
afterAll(async () => {
  for (const node of nodes ?? []) await node.stop();
  await db?.drop();
  await redis?.stop();
});

const prefsV1 = {
  type: 'object',
  required: ['user'],
  additionalProperties: false,
  properties: {
    user: {
      type: 'object',
      required: ['prefs'],
      properties: {
        prefs: {
          type: 'object',
          required: ['theme', 'lang'],
          additionalProperties: false,
          properties: { theme: { enum: ['light', 'dark'] }, lang: { type: 'string', minLength: 2 } },
        },
      },
    },
  },
};

async function refusal(p: Promise<unknown>): Promise<BlackboardError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BlackboardError) return err;
    throw err;
  }
  throw new Error('the request was not refused');
}

async function revOf(client: BlackboardClient, board: string): Promise<number> {
  return (await client.list(board, '', { limit: 1 })).rev;
}

describe('typed boards: writes are validated against the governing schema', () => {
  it('put: a value breaking the schema is INVALID with the failing paths and changes nothing; a valid one passes', async () => {
    const board = randomBoard('sc');
    const admin = await nodes[0]!.client({ agent: 'admin' });
    const other = await nodes[1]!.client({ agent: 'writer' });
    expect(await admin.setSchema(board, 'users/*/prefs', prefsV1, 1)).toMatchObject({ pattern: 'users/*/prefs', schemaVersion: 1, created: true });

    const ok = await other.put(board, 'users/ann/prefs', { user: { prefs: { theme: 'dark', lang: 'en' } } });
    expect(ok.version).toBe(1);
    const rev = await revOf(other, board);

    const err = await refusal(other.put(board, 'users/ann/prefs', { user: { prefs: { theme: 'blue' } } }));
    expect(err.code).toBe(ErrorCode.INVALID);
    expect(err.details).toMatchObject({ key: 'users/ann/prefs', pattern: 'users/*/prefs', schemaVersion: 1 });
    expect(err.details?.errors).toEqual(
      expect.arrayContaining([
        { instancePath: '/user/prefs', message: "must have required property 'lang'" },
        { instancePath: '/user/prefs/theme', message: 'must be equal to one of the allowed values' },
      ]),
    );
    // Refused writes change nothing: same value, version and revision.
    const got = await other.get(board, 'users/ann/prefs');
    expect(got).toMatchObject({ value: { user: { prefs: { theme: 'dark', lang: 'en' } } }, version: 1, schemaVersion: 1 });
    expect(await revOf(other, board)).toBe(rev);
    // A new key is refused just the same, and is not created.
    expect((await refusal(other.put(board, 'users/bob/prefs', 42))).details?.errors).toEqual([{ instancePath: '', message: 'must be object' }]);
    expect(await other.value(board, 'users/bob/prefs')).toBeUndefined();
    // Keys no pattern governs take any JSON.
    await other.put(board, 'notes/free', [1, 'two', { three: null }]);
    expect((await other.get(board, 'notes/free')) as object).not.toHaveProperty('schemaVersion');
  });

  it('patch: the result is validated, also when the patch is recomputed on a newer value', async () => {
    const board = randomBoard('sc');
    const admin = await nodes[0]!.client({ agent: 'admin' });
    const schema = { type: 'object', required: ['items'], properties: { items: { type: 'array', maxItems: 3 } } };
    await admin.setSchema(board, 'lists/*', schema, 1);
    const writer = await nodes[1]!.client();
    await writer.put(board, 'lists/a', { items: [] });
    const bad = await refusal(writer.patch(board, 'lists/a', [{ op: 'replace', path: '/items', value: 'none' }]));
    expect(bad.code).toBe(ErrorCode.INVALID);
    expect(bad.details?.errors).toEqual([{ instancePath: '/items', message: 'must be array' }]);

    // Six appends race from two nodes, without ifVersion: each is applied to the newest
    // value, so exactly three fit and the other three find a full list and are refused.
    const clients = [writer, await nodes[0]!.client(), await nodes[1]!.client()];
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        clients[i % 3]!.patch(board, 'lists/a', [{ op: 'add', path: '/items/-', value: i }]).then(
          () => 'ok',
          (err: BlackboardError) => err.code,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(3);
    expect(outcomes.filter((o) => o === ErrorCode.INVALID)).toHaveLength(3);
    const final = await writer.get<{ items: number[] }>(board, 'lists/a');
    expect(final.value.items).toHaveLength(3);
    expect(final.version).toBe(4);
  });

  it('txn: one op breaking its schema refuses the whole txn, naming the key; a valid txn passes', async () => {
    const board = randomBoard('sc');
    const admin = await nodes[0]!.client({ agent: 'admin' });
    await admin.setSchema(board, 'users/*/prefs', prefsV1, 1);
    const c = await nodes[1]!.client();
    await c.put(board, 'users/a/prefs', { user: { prefs: { theme: 'light', lang: 'en' } } });
    const rev = await revOf(c, board);
    const err = await refusal(
      c.txn(board, {
        compare: [],
        ops: [
          { op: 'put', key: 'users/b/prefs', value: { user: { prefs: { theme: 'dark', lang: 'fr' } } } },
          { op: 'patch', key: 'users/a/prefs', patch: [{ op: 'replace', path: '/user/prefs/lang', value: 'x' }] },
        ],
      }),
    );
    expect(err.code).toBe(ErrorCode.INVALID);
    expect(err.details).toMatchObject({
      key: 'users/a/prefs',
      errors: [{ instancePath: '/user/prefs/lang', message: 'must NOT have fewer than 2 characters' }],
    });
    expect(await c.value(board, 'users/b/prefs')).toBeUndefined();
    expect(await revOf(c, board)).toBe(rev);

    const done = await c.txn(board, {
      compare: [],
      ops: [
        { op: 'put', key: 'users/b/prefs', value: { user: { prefs: { theme: 'dark', lang: 'fr' } } } },
        { op: 'patch', key: 'users/a/prefs', patch: [{ op: 'replace', path: '/user/prefs/lang', value: 'de' }] },
        { op: 'put', key: 'elsewhere', value: 'anything' },
      ],
    });
    expect(done.rev).toBe(rev + 1);
    expect(await c.get(board, 'users/b/prefs')).toMatchObject({ schemaVersion: 1, version: 1 });
    expect(await c.get(board, 'users/a/prefs')).toMatchObject({ schemaVersion: 1, version: 2 });
  });

  it('the most specific pattern governs a key (longest literal prefix)', async () => {
    const board = randomBoard('sc');
    const admin = await nodes[0]!.client({ agent: 'admin' });
    await admin.setSchema(board, 'cfg/**', { type: 'object' }, 1);
    await admin.setSchema(board, 'cfg/*/limits', { type: 'object', required: ['max'] }, 1);
    await admin.setSchema(board, 'cfg/prod/limits', { type: 'object', required: ['max', 'owner'] }, 1);
    const c = await nodes[1]!.client();
    await c.put(board, 'cfg/dev/other', {});
    expect((await refusal(c.put(board, 'cfg/dev/other', 'text'))).details?.pattern).toBe('cfg/**');
    await c.put(board, 'cfg/dev/limits', { max: 1 });
    expect((await refusal(c.put(board, 'cfg/dev/limits', {}))).details?.pattern).toBe('cfg/*/limits');
    expect((await refusal(c.put(board, 'cfg/prod/limits', { max: 1 }))).details?.pattern).toBe('cfg/prod/limits');
    await c.put(board, 'cfg/prod/limits', { max: 1, owner: 'ops' });
  });

  it('schema.set, schema.get and schema.list', async () => {
    const board = randomBoard('sc');
    const admin = await nodes[0]!.client({ agent: 'admin' });
    const code = async (p: Promise<unknown>) => (await refusal(p)).code;
    expect(await code(admin.setSchema(board, 'a/*', { type: 'objekt' }, 1))).toBe(ErrorCode.BAD_REQUEST);
    expect(await code(admin.setSchema(board, 'a/*', { type: 'object', requried: ['x'] }, 1))).toBe(ErrorCode.BAD_REQUEST);
    expect(await code(admin.setSchema(board, '$locks/*', { type: 'object' }, 1))).toBe(ErrorCode.BAD_REQUEST);
    expect(await code(admin.setSchema(board, 'a/*', { type: 'object' }, 1, { migration: [{ op: 'delete', path: '/x' }] }))).toBe(ErrorCode.BAD_REQUEST);
    const first = await admin.setSchema(board, 'a/*', { type: 'object' }, 1);
    // The same registration again is answered as the first; a different one at that version conflicts.
    expect(await admin.setSchema(board, 'a/*', { type: 'object' }, 1)).toEqual({ ...first, created: false });
    expect(await code(admin.setSchema(board, 'a/*', { type: 'array' }, 1))).toBe(ErrorCode.CONFLICT);
    await admin.setSchema(board, 'a/*', { type: 'object', required: ['n'] }, 5, { migration: [{ op: 'default', path: '/n', value: 0 }] });
    const lower = await refusal(admin.setSchema(board, 'a/*', { type: 'object' }, 3));
    expect(lower.code).toBe(ErrorCode.CONFLICT);
    expect(lower.details).toMatchObject({ current: { schemaVersion: 5 } });

    expect(await admin.getSchema(board, 'a/*')).toMatchObject({
      pattern: 'a/*',
      schemaVersion: 5,
      previous: 1,
      schema: { type: 'object', required: ['n'] },
      migration: [{ op: 'default', path: '/n', value: 0 }],
    });
    expect(await admin.getSchema(board, 'a/*', 1)).toMatchObject({ schemaVersion: 1, schema: { type: 'object' } });
    expect(await code(admin.getSchema(board, 'a/*', 2))).toBe(ErrorCode.NOT_FOUND);
    expect(await code(admin.getSchema(board, 'b/*'))).toBe(ErrorCode.NOT_FOUND);
    await admin.setSchema(board, 'b/**', true, 1);
    const list = await admin.listSchemas(board);
    expect(list.schemas).toEqual([
      { pattern: 'a/*', schemaVersion: 5, versions: [5, 1] },
      { pattern: 'b/**', schemaVersion: 1, versions: [1] },
    ]);
    // The registrations are board state, so they are in the board's history like any write.
    const history = await admin.history(board, { key: '$schemas/a%2F*/v5' });
    expect(history.events).toHaveLength(1);
    expect(history.events[0]).toMatchObject({ actor: 'admin', value: { pattern: 'a/*', schemaVersion: 5 } });
  });

  it('get with schemaVersion: INVALID when no migration path leads there', async () => {
    const board = randomBoard('sc');
    const admin = await nodes[0]!.client({ agent: 'admin' });
    await admin.setSchema(board, 'k/*', { type: 'object' }, 1);
    const c = await nodes[1]!.client();
    await c.put(board, 'k/1', { a: 1 });
    await c.put(board, 'free', 1);
    expect(await c.getAsVersion(board, 'k/1', 1)).toMatchObject({ value: { a: 1 }, schemaVersion: 1 });
    expect((await refusal(c.getAsVersion(board, 'k/1', 2))).code).toBe(ErrorCode.INVALID);
    expect((await refusal(c.getAsVersion(board, 'free', 1))).code).toBe(ErrorCode.INVALID);
    // Version 2 comes without a migration: version 1 values cannot become version 2 values.
    await admin.setSchema(board, 'k/*', { type: 'object', required: ['b'] }, 2);
    expect((await refusal(c.getAsVersion(board, 'k/1', 2))).details).toMatchObject({ from: 1, schemaVersion: 2 });
    // A plain get still serves the stored value, saying which version it conforms to.
    expect(await c.get(board, 'k/1')).toMatchObject({ value: { a: 1 }, schemaVersion: 1 });
  });
});
