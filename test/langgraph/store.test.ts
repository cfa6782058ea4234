import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidNamespaceError } from '@langchain/langgraph-checkpoint';
import type { BlackboardClient } from '../../client/sdk/index.js';
import { BlackboardStore, LangGraphBoardError, LangGraphErrorCode } from '../../client/langgraph/index.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let client: BlackboardClient;

beforeAll(async () => {
  server = await startTestServer();
  client = await server.client();
});
afterAll(() => server.stop());

const fresh = () => new BlackboardStore({ client, board: randomBoard('lgstore') });

describe('BlackboardStore', () => {
  it('puts, gets, updates and deletes an item; keys of any text round-trip', async () => {
    const store = fresh();
    expect(await store.get(['users', 'alice'], 'prefs')).toBeNull();
    await store.put(['users', 'alice'], 'prefs', { theme: 'dark' });
    const first = await store.get(['users', 'alice'], 'prefs');
    expect(first).toMatchObject({ namespace: ['users', 'alice'], key: 'prefs', value: { theme: 'dark' } });
    await new Promise((r) => setTimeout(r, 5));
    await store.put(['users', 'alice'], 'prefs', { theme: 'light' });
    const second = await store.get(['users', 'alice'], 'prefs');
    expect(second?.value).toEqual({ theme: 'light' });
    expect(second?.createdAt.getTime()).toBe(first?.createdAt.getTime());
    expect(second!.updatedAt.getTime()).toBeGreaterThan(first!.updatedAt.getTime());

    const odd = ['', 'a/b', '~x', '..', ' spaced ', '\u0001ctl', 'ünï 😀'];
    for (const key of odd) await store.put(['odd', 'keys/with/slash'], key, { key });
    for (const key of odd) expect((await store.get(['odd', 'keys/with/slash'], key))?.value).toEqual({ key });

    await store.delete(['users', 'alice'], 'prefs');
    expect(await store.get(['users', 'alice'], 'prefs')).toBeNull();
    await store.delete(['users', 'alice'], 'never-there');
  });

  it('1,000 items across nested namespaces: search with filters, listNamespaces, delete', async () => {
    const store = fresh();
    const teams = ['red', 'green', 'blue', 'gold'];
    const items = Array.from({ length: 1_000 }, (_, n) => {
      const team = teams[n % 4]!;
      const namespace = n % 3 === 0 ? ['org', team] : ['org', team, `squad${n % 5}`];
      const value = { n, team, odd: n % 2 === 1, tag: n % 10 === 0 ? 'round' : 'plain', at: `2026-01-${String((n % 28) + 1).padStart(2, '0')}` };
      return { namespace, key: `item-${n}`, value };
    });
    await store.batch(items);
    const keysOf = (found: Array<{ key: string }>) => found.map((i) => i.key).sort();
    const expected = (pred: (item: (typeof items)[number]) => boolean) => keysOf(items.filter(pred));
    const search = async (prefix: string[], filter?: Record<string, unknown>) =>
      keysOf(await store.search(prefix, { limit: 2_000, ...(filter ? { filter } : {}) }));

    expect(await search(['org'])).toEqual(expected(() => true));
    expect(await search(['org', 'red'])).toEqual(expected((i) => i.value.team === 'red'));
    expect(await search(['org', 'red', 'squad2'])).toEqual(expected((i) => i.namespace.join('/') === 'org/red/squad2'));
    expect(await search(['org', 'green'], { odd: true })).toEqual(expected((i) => i.value.team === 'green' && i.value.odd));
    expect(await search(['org'], { n: { $gt: 990 } })).toEqual(expected((i) => i.value.n > 990));
    expect(await search(['org'], { n: { $gte: 990 } })).toEqual(expected((i) => i.value.n >= 990));
    expect(await search(['org'], { n: { $lt: 10 } })).toEqual(expected((i) => i.value.n < 10));
    expect(await search(['org'], { n: { $lte: 10 } })).toEqual(expected((i) => i.value.n <= 10));
    expect(await search(['org'], { n: { $gte: 100, $lt: 200 }, team: 'blue' })).toEqual(
      expected((i) => i.value.n >= 100 && i.value.n < 200 && i.value.team === 'blue'),
    );
    expect(await search(['org'], { tag: { $ne: 'plain' } })).toEqual(expected((i) => i.value.tag !== 'plain'));
    expect(await search(['org'], { tag: { $eq: 'round' }, team: { $ne: 'red' } })).toEqual(expected((i) => i.value.tag === 'round' && i.value.team !== 'red'));
    expect(await search(['org'], { at: { $lte: '2026-01-02' } })).toEqual(expected((i) => i.value.at <= '2026-01-02'));
    expect(await store.search(['org'], { limit: 10, offset: 995 })).toHaveLength(5);

    const ranked = await store.search(['org'], { query: 'blue round', limit: 2_000 });
    expect(keysOf(ranked)).toEqual(expected((i) => i.value.team === 'blue' || i.value.tag === 'round'));
    expect(ranked[0]?.value).toMatchObject({ team: 'blue', tag: 'round' });

    const distinct = (list: string[][]) => [...new Set(list.map((ns) => ns.join('/')))].sort();
    expect(distinct(await store.listNamespaces({ limit: 100 }))).toEqual(distinct(items.map((i) => i.namespace)));
    expect(distinct(await store.listNamespaces({ prefix: ['org', 'red'], limit: 100 }))).toEqual(
      distinct(items.filter((i) => i.value.team === 'red').map((i) => i.namespace)),
    );
    expect(distinct(await store.listNamespaces({ suffix: ['squad3'], limit: 100 }))).toEqual(
      distinct(items.filter((i) => i.namespace[2] === 'squad3').map((i) => i.namespace)),
    );
    expect(distinct(await store.listNamespaces({ prefix: ['org', '*', 'squad1'], limit: 100 }))).toEqual(
      distinct(items.filter((i) => i.namespace[2] === 'squad1').map((i) => i.namespace)),
    );
    expect(await store.listNamespaces({ maxDepth: 2, limit: 100 })).toEqual([
      ['org', 'blue'],
      ['org', 'gold'],
      ['org', 'green'],
      ['org', 'red'],
    ]);
    expect(await store.listNamespaces({ maxDepth: 2, limit: 2, offset: 1 })).toEqual([
      ['org', 'gold'],
      ['org', 'green'],
    ]);

    const green = await store.search(['org', 'green'], { limit: 2_000 });
    await store.batch(green.map((item) => ({ namespace: item.namespace, key: item.key, value: null })));
    expect(await search(['org', 'green'])).toEqual([]);
    expect(await search(['org'])).toEqual(expected((i) => i.value.team !== 'green'));
    expect((await store.listNamespaces({ limit: 100 })).some((ns) => ns[1] === 'green')).toBe(false);
  });

  it('refuses bad input before touching the board', async () => {
    const store = fresh();
    await expect(store.put([], 'k', { a: 1 })).rejects.toThrow(InvalidNamespaceError);
    await expect(store.put(['a.b'], 'k', { a: 1 })).rejects.toThrow(InvalidNamespaceError);
    const bad = store.search(['x'], { filter: { n: { $regex: 'a' } } });
    await expect(bad).rejects.toBeInstanceOf(LangGraphBoardError);
    await expect(bad).rejects.toMatchObject({ code: LangGraphErrorCode.INVALID_CONFIG });
    await expect(store.put(['x'], 'k'.repeat(600), { a: 1 })).rejects.toMatchObject({ code: LangGraphErrorCode.INVALID_KEY });
    expect(await store.listNamespaces({ limit: 10 })).toEqual([]);
  });
});
