import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlackboardError, type BlackboardClient, type BoardEvent } from '../../client/sdk/index.js';
import { boardKeys } from '../../server/board/keys.js';
import { CheckedWebSocket, randomBoard, startTestServer, waitFor, type TestServer } from '../helpers/server.js';
import { testDatabase, type TestDatabase } from '../helpers/pg-database.js';
import { startRedisProcess, type RedisProcess } from '../helpers/redis-process.js';

let db: TestDatabase;
let redisServer: RedisProcess;
let nodes: TestServer[];
let redis: Redis;

beforeAll(async () => {
  // A Redis and a database of their own: history assertions need every persister that
  // reads these boards' streams to write to this test's database.
  redisServer = await startRedisProcess();
  db = testDatabase('bbschema');
  const env = { REDIS_URL: redisServer.url, DATABASE_URL: db.url };
  nodes = [await startTestServer({ env }), await startTestServer({ env })];
  redis = new Redis(redisServer.url);
});
afterAll(async () => {
  for (const node of nodes ?? []) await node.stop();
  redis?.disconnect();
  await db?.drop();
  await redisServer?.stop();
});

// The example of docs/schemas.md: nested preferences, then flattened, then with token tracking.
const theme = { enum: ['light', 'dark'] };
const lang = { type: 'string' };
const v1 = {
  type: 'object',
  required: ['user'],
  additionalProperties: false,
  properties: {
    user: {
      type: 'object',
      required: ['prefs'],
      additionalProperties: false,
      properties: { prefs: { type: 'object', required: ['theme', 'lang'], additionalProperties: false, properties: { theme, lang } } },
    },
  },
};
const v2 = { type: 'object', required: ['theme', 'lang'], additionalProperties: false, properties: { theme, lang } };
const v3 = {
  type: 'object',
  required: ['theme', 'lang', 'tokens'],
  additionalProperties: false,
  properties: {
    theme,
    lang,
    tokens: {
      type: 'object',
      required: ['used', 'limit'],
      additionalProperties: false,
      properties: { used: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1 } },
    },
  },
};
const toV2 = [
  { op: 'move', from: '/user/prefs/theme', path: '/theme' },
  { op: 'move', from: '/user/prefs/lang', path: '/lang' },
  { op: 'remove', path: '/user' },
] as const;
const toV3 = [{ op: 'default', path: '/tokens', value: { used: 0, limit: 1000 } }] as const;

interface V3 {
  theme: string;
  lang: string;
  tokens: { used: number; limit: number };
}

const PATTERN = 'agents/*/prefs';
const keyOf = (i: number) => `agents/a${String(i).padStart(4, '0')}/prefs`;
const v1Value = (i: number) => ({ user: { prefs: { theme: i % 2 ? 'dark' : 'light', lang: `l${i}` } } });
const v3Value = (i: number, used = 0) => ({ theme: i % 2 ? 'dark' : 'light', lang: `l${i}`, tokens: { used, limit: 1000 } });

async function seedV1(client: BlackboardClient, board: string, n: number): Promise<void> {
  await client.setSchema(board, PATTERN, v1, 1);
  for (let i = 0; i < n; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => client.put(board, keyOf(i + j), v1Value(i + j))));
  }
}

async function refusal(p: Promise<unknown>): Promise<BlackboardError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (err instanceof BlackboardError) return err;
  throw new Error('the request was not refused');
}

async function migrationDone(client: BlackboardClient, board: string): Promise<boolean> {
  const { migration } = await client.listSchemas(board);
  return !migration.pending && !migration.running;
}

async function allValues(client: BlackboardClient, board: string) {
  return (await client.list(board, 'agents/', { limit: 10_000 })).items;
}

describe('typed boards: migrations', () => {
  it('registering v2 and v3 turns stored v1 values into v3 values, each change seen by subscribers and in history', async () => {
    const board = randomBoard('sm');
    const admin = await nodes[0]!.client({ agent: 'admin' });
    const n = 12;
    await seedV1(admin, board, n);

    const watcher = await nodes[1]!.client({ agent: 'watcher' });
    const seen: BoardEvent[] = [];
    await watcher.subscribe({ board, patterns: ['agents/**'] }, { events: (events) => seen.push(...events) });

    // While a lease on the board's pass is held elsewhere, stored values stay v1 and `get`
    // migrates them on the fly.
    const lease = boardKeys(board).schemaPass;
    await redis.set(lease, 'held-by-test', 'PX', 30_000);
    await admin.setSchema(board, PATTERN, v2, 2, { migration: [...toV2] });
    await admin.setSchema(board, PATTERN, v3, 3, { migration: [...toV3] });
    expect((await allValues(admin, board)).map((i) => i.value)).toEqual(Array.from({ length: n }, (_, i) => v1Value(i)));
    expect(await admin.get(board, keyOf(3))).toMatchObject({ value: v3Value(3), version: 1, schemaVersion: 3 });
    expect(await admin.getAsVersion(board, keyOf(3), 2)).toMatchObject({ value: { theme: 'dark', lang: 'l3' }, schemaVersion: 2 });
    expect(await admin.getAsVersion(board, keyOf(3), 1)).toMatchObject({ value: v1Value(3), schemaVersion: 1 });
    expect((await admin.listSchemas(board)).migration).toMatchObject({ pending: true, running: true });

    await redis.del(lease);
    await waitFor(() => migrationDone(admin, board), 20_000, 'migration pass');

    const items = await allValues(admin, board);
    expect(items.map((i) => i.value)).toEqual(Array.from({ length: n }, (_, i) => v3Value(i)));
    expect(items.every((i) => i.version === 2)).toBe(true);
    for (const item of items) {
      expect(await redis.hget(boardKeys(board).schemaVersions, item.key)).toBe(`${item.modRev}:3`);
      expect(await admin.getAsVersion(board, item.key, 3)).toMatchObject({ version: 2, schemaVersion: 3 });
    }
    expect((await admin.listSchemas(board)).migration.last).toMatchObject({ scanned: n, migrated: n, failed: 0, unversioned: 0 });

    // Every migrated value reached the subscriber as a put by `schema-migration`...
    await waitFor(() => seen.filter((e) => e.actor === 'schema-migration').length === n, 10_000, 'migration events');
    for (let i = 0; i < n; i++) {
      const events = seen.filter((e) => e.key === keyOf(i) && e.actor === 'schema-migration');
      expect(events).toEqual([expect.objectContaining({ type: 'put', version: 2, value: v3Value(i) })]);
    }
    // ...and is in history (Postgres), after the value it replaced.
    await waitFor(async () => (await admin.history(board, { key: keyOf(5) })).events.length === 2, 15_000, 'history');
    const history = (await admin.history(board, { key: keyOf(5) })).events;
    expect(history.map((e) => [e.version, e.actor, e.value])).toEqual([
      [1, 'admin', v1Value(5)],
      [2, 'schema-migration', v3Value(5)],
    ]);
  });

  it('concurrent writers lose nothing while the background pass migrates: counts exact, every value at v3', async () => {
    const board = randomBoard('sm');
    const admin = await nodes[0]!.client({ agent: 'admin' });
    const n = 600;
    await seedV1(admin, board, n);
    const watcher = await nodes[0]!.client({ agent: 'watcher' });
    const migratedRevs: number[] = [];
    await watcher.subscribe(
      { board, patterns: ['agents/**'] },
      { events: (events) => migratedRevs.push(...events.filter((e) => e.actor === 'schema-migration').map((e) => e.rev)) },
    );

    await admin.setSchema(board, PATTERN, v2, 2, { migration: [...toV2] });
    await admin.setSchema(board, PATTERN, v3, 3, { migration: [...toV3] });
    await waitFor(() => migratedRevs.length > 0, 10_000, 'the pass to start');

    // Five writers on two nodes increment tokens.used with update() (get, then put with
    // ifVersion), on keys spread over the whole range, many not migrated yet.
    const writers = await Promise.all(Array.from({ length: 5 }, (_, w) => nodes[w % 2]!.client({ agent: `w${w}` })));
    const increments = new Map<string, number>();
    const writeRevs: number[] = [];
    const perWriter = 60;
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let i = 0; i < perWriter; i++) {
          const key = keyOf((((n - 1 - (i * 7 + w * 3) * 2) % n) + n) % n);
          const result = await writer.update<V3>(board, key, (v) => ({ ...v!, tokens: { ...v!.tokens, used: v!.tokens.used + 1 } }));
          writeRevs.push(result.rev);
          increments.set(key, (increments.get(key) ?? 0) + 1);
        }
      }),
    );
    await waitFor(() => migrationDone(admin, board), 30_000, 'migration pass');

    const items = await allValues(admin, board);
    expect(items).toHaveLength(n);
    for (const [i, item] of items.entries()) {
      expect(item.value).toEqual(v3Value(i, increments.get(item.key) ?? 0));
      expect(await redis.hget(boardKeys(board).schemaVersions, item.key)).toBe(`${item.modRev}:3`);
    }
    const total = [...increments.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(5 * perWriter);
    // The writers really ran during the pass: some of their writes fall between its first and last migration writes.
    const [firstMigration, lastMigration] = [Math.min(...migratedRevs), Math.max(...migratedRevs)];
    expect(writeRevs.some((rev) => rev > firstMigration && rev < lastMigration)).toBe(true);
    const report = (await admin.listSchemas(board)).migration.last!;
    expect(report.failed).toBe(0);
    expect(report.unversioned).toBe(0);
    console.log(
      `migration of ${n} keys: ${report.migrated} migrated by the pass, ${report.conflicts} CAS conflicts with writers, ` +
        `${migratedRevs.length} migration events, ${writeRevs.length} writer updates`,
    );
  });

  it('declarative transforms do nothing where their source is absent; a value whose migration fails stays as it is', async () => {
    const board = randomBoard('sm');
    const admin = await nodes[0]!.client({ agent: 'admin' });
    await admin.setSchema(board, 'people/*', { type: 'object' }, 1);
    // Digits past 2^53 must survive a migration: written and read back as raw JSON text.
    const raw = await rawSocket(nodes[1]!.wsUrl);
    await raw.request(`{"id":1,"op":"put","board":"${board}","key":"people/big","value":{"name":"B","n":12345678901234567890}}`);
    await admin.put(board, 'people/full', { name: 'Ann', legacy: true, settings: { dark: true } });
    await admin.put(board, 'people/bare', { name: 'Bo' });
    await admin.put(board, 'people/odd', { nick: 'x' });
    const v2 = {
      type: 'object',
      required: ['profile'],
      properties: { profile: { type: 'object', required: ['name', 'tags'] }, legacy: false },
    };
    await admin.setSchema(board, 'people/*', v2, 2, {
      migration: [
        { op: 'rename', from: '/name', path: '/profile/name' },
        { op: 'default', path: '/profile/tags', value: [] },
        { op: 'delete', path: '/legacy' },
        { op: 'wrap', path: '/settings', key: 'v1' },
      ],
    });
    await waitFor(() => migrationDone(admin, board), 20_000, 'migration pass');
    expect((await admin.get(board, 'people/full')).value).toEqual({ profile: { name: 'Ann', tags: [] }, settings: { v1: { dark: true } } });
    expect((await admin.get(board, 'people/bare')).value).toEqual({ profile: { name: 'Bo', tags: [] } });
    // Without a name the result has no profile.name: it breaks v2, so the value is left as it is.
    expect(await admin.get(board, 'people/odd')).toMatchObject({ value: { nick: 'x' }, version: 1, schemaVersion: 1 });
    expect((await refusal(admin.getAsVersion(board, 'people/odd', 2))).details).toMatchObject({ from: 1, schemaVersion: 2 });
    expect((await admin.listSchemas(board)).migration.last).toMatchObject({ migrated: 3, failed: 1 });
    const big = await raw.request(`{"id":2,"op":"get","board":"${board}","key":"people/big"}`);
    expect(big).toContain('"value":{"n":12345678901234567890,"profile":{"name":"B","tags":[]}}');
    raw.close();
  });
});

/** A socket that hands back reply frames as text, so numbers keep every digit. */
async function rawSocket(url: string): Promise<{ request(frame: string): Promise<string>; close(): void }> {
  const ws = new CheckedWebSocket(url);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    request: (frame) =>
      new Promise((resolve) => {
        ws.once('message', (data) => resolve(data.toString()));
        ws.send(frame);
      }),
    close: () => ws.close(),
  };
}
