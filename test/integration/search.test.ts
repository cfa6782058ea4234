import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlackboardClient, SearchOptions, SearchResult } from '../../client/sdk/index.js';
import { mintToken } from '../../server/security/mint.js';
import { codeOf, randomBoard, startTestServer, type TestServer } from '../helpers/server.js';
import { startRedisProcess, type RedisProcess } from '../helpers/redis-process.js';
import { testDatabase, type TestDatabase } from '../helpers/pg-database.js';
import { prose, seeded } from '../helpers/prose.js';
import { RawSocket } from '../helpers/raw-socket.js';

/**
 * Search on a board of 10,000 keys of generated prose, with a few planted words: ranking,
 * misspellings, exclusions, patterns, minRev, history, atRev, token scopes, deletes, and
 * rebuilds (by command and by migration) that reproduce the same results.
 */

const SECRET = randomBytes(32).toString('hex');
const KEYS = 10_000;
const TXN_OPS = 500;

let redis: RedisProcess;
let db: TestDatabase;
let nodes: TestServer[];
let env: Record<string, string>;
let admin: BlackboardClient;
const board = randomBoard('srch');

function keyOf(i: number): string {
  if (i < 9_000) return `docs/g${Math.floor(i / 900)}/k${i}`;
  if (i < 9_500) return `x/${i}`;
  return `y/${i}`;
}

const PLANTED = keyOf(4242); // docs/g4/k4242
/** Keys with `quartz` but not `harbour`; with both, far apart; with `harbour` only. */
const QUARTZ_ONLY = [keyOf(101), keyOf(102), keyOf(4505)]; // docs/g0/…, docs/g0/…, docs/g5/…
const QUARTZ_AND_HARBOUR = [keyOf(103), keyOf(6307)]; // docs/g0/k103, docs/g7/k6307
const HARBOUR_ONLY = [keyOf(2202)];
const DEPLOY = keyOf(3444);

/** The value of key i: generated prose, with the planted words where the test wants them. */
function valueOf(i: number, key: string): { title: string; body: string; tags: string[] } {
  const random = seeded(i + 1);
  let body = prose(random, 40);
  const title = prose(random, 5);
  if (key === PLANTED) body = `${prose(random, 10)} We agreed on the quartz harbour protocol for the release. ${body}`;
  if (QUARTZ_ONLY.includes(key)) body = `Quartz ${body}`;
  if (QUARTZ_AND_HARBOUR.includes(key)) body = `Quartz ${body} harbour`;
  if (HARBOUR_ONLY.includes(key)) body = `${body} harbour`;
  if (key === DEPLOY) body = `${body} Then deploy it.`;
  // Scope test: `saffron` in many y/ keys and three x/ keys; `xylophone` only under y/.
  if (key.startsWith('y/') && i % 5 === 0) body = `saffron saffron ${body} xylophone`;
  if (['x/9001', 'x/9002', 'x/9003'].includes(key)) body = `${body} saffron`;
  return { title, body, tags: [key.split('/')[0]!] };
}

async function token(sub: string, scope: string): Promise<string> {
  return mintToken({ sub, scope, ttlSeconds: 3_600, secret: SECRET });
}

const keys = (r: SearchResult) => r.items.map((i) => i.key);

/** Every page of a search, following `next`. */
async function allPages(client: BlackboardClient, query: string, options: SearchOptions = {}): Promise<SearchResult[]> {
  const pages: SearchResult[] = [];
  let after: string | undefined;
  do {
    const page = await client.search(board, query, { ...options, ...(after === undefined ? {} : { after }) });
    pages.push(page);
    after = page.more ? page.next : undefined;
  } while (after !== undefined);
  return pages;
}

let seededRev = 0;

beforeAll(async () => {
  redis = await startRedisProcess();
  db = testDatabase();
  // Indexing 10,000 keys takes a second or two alone, longer beside other test files on a
  // loaded machine: the first minRev search may wait for it (within the client's 30 s timeout).
  env = { REDIS_URL: redis.url, DATABASE_URL: db.url, AUTH_MODE: 'jwt', JWT_SECRET: SECRET, SEARCH_WAIT_MS: '25000' };
  nodes = [await startTestServer({ env }), await startTestServer({ env })];
  admin = await nodes[0]!.client({ token: await token('admin', `admin:${board}`) });
  // Seeded through the bulk path: a txn of 500 puts per revision.
  for (let from = 0; from < KEYS; from += TXN_OPS) {
    const ops = [];
    for (let i = from; i < Math.min(KEYS, from + TXN_OPS); i++) ops.push({ op: 'put' as const, key: keyOf(i), value: valueOf(i, keyOf(i)) });
    seededRev = (await admin.txn(board, { compare: [], ops })).rev;
  }
}, 120_000);

afterAll(async () => {
  for (const node of nodes ?? []) await node.stop();
  await db?.drop();
  await redis?.stop();
});

describe('acceptance 1: 10,000 keys of prose', () => {
  it('a planted phrase ranks its key first; the same words apart rank below it', async () => {
    const phrase = await admin.search(board, '"quartz harbour"', { minRev: seededRev });
    expect(keys(phrase)).toEqual([PLANTED]);
    expect(phrase.fuzzy).toBeUndefined();
    expect(phrase.items[0]!.highlights).toContainEqual(expect.objectContaining({ path: '/body', text: expect.stringContaining('quartz harbour protocol') }));
    const words = await admin.search(board, 'quartz harbour');
    expect(keys(words)[0]).toBe(PLANTED);
    expect(new Set(keys(words))).toEqual(new Set([PLANTED, ...QUARTZ_AND_HARBOUR]));
    expect(words.items[0]!.score).toBeGreaterThan(words.items[1]!.score);
  });

  it('a misspelling still finds it, and says the match is fuzzy', async () => {
    const typo = await admin.search(board, 'quarts harbor');
    expect(typo.fuzzy).toBe(true);
    expect(keys(typo)[0]).toBe(PLANTED);
    const deplyo = await admin.search(board, 'deplyo');
    expect(deplyo.fuzzy).toBe(true);
    expect(keys(deplyo)).toEqual([DEPLOY]);
    const highlight = deplyo.items[0]!.highlights[0]!;
    expect(highlight.path).toBe('/body');
    const [start, end] = highlight.marks[0]!;
    expect(highlight.text.slice(start, end)).toBe('deploy');
  });

  it('a misspelling is not taken for a word that merely shares a stretch of letters with it', async () => {
    await admin.put(board, 'notes/typo-module', { t: 'the quitensor module' });
    await admin.put(board, 'notes/typo-quiet-1', { t: 'quiet' });
    const { rev } = await admin.put(board, 'notes/typo-quiet-2', { t: 'a quiet week' });
    // `quiet` shares five of `quietnsor`'s trigrams (similar enough for pg_trgm), but is four edits away.
    const found = await admin.search(board, 'quietnsor', { minRev: rev });
    expect([found.fuzzy, keys(found)]).toEqual([true, ['notes/typo-module']]);
  });

  it('a -word excludes the keys holding it', async () => {
    const r = await admin.search(board, 'quartz -harbour');
    expect(new Set(keys(r))).toEqual(new Set(QUARTZ_ONLY));
    const or = await admin.search(board, '"quartz harbour" or deplyo');
    expect(keys(or)).toEqual([PLANTED]);
  });

  it('patterns narrow the keys searched', async () => {
    expect(new Set(keys(await admin.search(board, 'quartz', { patterns: ['docs/g0/*'] })))).toEqual(new Set(['docs/g0/k101', 'docs/g0/k102', 'docs/g0/k103']));
    expect(new Set(keys(await admin.search(board, 'quartz', { patterns: ['docs/g5/**', 'docs/g7/k6307'] })))).toEqual(
      new Set(['docs/g5/k4505', 'docs/g7/k6307']),
    );
    expect(keys(await admin.search(board, 'quartz', { patterns: ['docs/*'] }))).toEqual([]);
  });

  it('pages with limit and next cover every match once, in rank order', async () => {
    const whole = await admin.search(board, 'quartz', { limit: 100 });
    expect(whole.more).toBe(false);
    const pages = await allPages(admin, 'quartz', { limit: 2 });
    expect(pages.length).toBe(3);
    expect(pages.flatMap(keys)).toEqual(keys(whole));
    const scores = pages.flatMap((p) => p.items.map((i) => i.score));
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('refuses what it cannot bound or read, with BAD_REQUEST', async () => {
    expect(await codeOf(admin.search(board, 'x'.repeat(513)))).toBe('BAD_REQUEST');
    expect(await codeOf(admin.search(board, 'quartz', { limit: 101 }))).toBe('BAD_REQUEST');
    expect(await codeOf(admin.search(board, 'quartz', { patterns: ['a/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*'] }))).toBe('BAD_REQUEST');
    expect(await codeOf(admin.search(board, 'quartz', { after: 'not-a-cursor' }))).toBe('BAD_REQUEST');
    expect(await codeOf(admin.search(board, 'quartz', { atRev: 1, history: true }))).toBe('BAD_REQUEST');
    expect(await codeOf(admin.search(board, 'quartz', { minRev: seededRev + 1_000 }))).toBe('BAD_REQUEST');
  });

  it('a search that runs past SEARCH_TIMEOUT_MS is cancelled in Postgres and answered TIMEOUT', async () => {
    // Searching all 10,000 values of the history for a common word reads every one of them.
    await using hurried = await startTestServer({ env: { ...env, SEARCH_TIMEOUT_MS: '50' } });
    const client = await hurried.client({ token: await token('hurried', `read:${board}`) });
    const refused = client.search(board, 'the board', { history: true, minRev: seededRev });
    await expect(refused).rejects.toMatchObject({ code: 'TIMEOUT', details: { timeoutMs: 50 } });
  });
});

describe('fair shares', () => {
  it('one agent holds at most half of the node’s search connections; another agent’s search still runs', async () => {
    // SEARCH_POOL_MAX 2: one search in progress per agent. Searches of the whole history are slow.
    await using node = await startTestServer({ env: { ...env, SEARCH_POOL_MAX: '2' } });
    const greedy = await RawSocket.open(node.wsUrl, { headers: { authorization: `Bearer ${await token('greedy', `read:${board}`)}` } });
    const other = await node.client({ token: await token('other', `read:${board}`) });
    try {
      const burst = Array.from({ length: 8 }, () => greedy.call('search', { board, query: 'the board', history: true, limit: 1 }));
      const meanwhile = await other.search(board, 'quartz harbour', { minRev: seededRev });
      expect(meanwhile.items[0]?.key).toBe(PLANTED);
      const replies = await Promise.all(burst);
      const refused = replies.filter((r) => r.ok === false);
      expect(replies.length - refused.length).toBeGreaterThanOrEqual(1);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      for (const r of refused) expect(r.error).toMatchObject({ code: 'RATE_LIMITED', details: { reason: 'searches', limit: 1 } });
    } finally {
      greedy.close();
    }
  });
});

describe('acceptance 2: a write, then search with minRev = its revision', () => {
  it('finds what was just written, on the node that took the write and on another', async () => {
    const other = await nodes[1]!.client({ token: await token('admin2', `admin:${board}`) });
    for (let i = 0; i < 20; i++) {
      const word = `zephyr${String.fromCharCode(97 + i)}ine`;
      const { rev } = await admin.put(board, `fresh/${i}`, { note: `remember the ${word} meeting` });
      const reader = i % 2 === 0 ? admin : other;
      const r = await reader.search(board, word, { minRev: rev });
      expect(keys(r)).toEqual([`fresh/${i}`]);
      expect(r.rev).toBeGreaterThanOrEqual(rev);
      expect(r.items[0]!.rev).toBe(rev);
    }
  });
});

describe('acceptance 3: history and atRev', () => {
  it('history finds an overwritten value with its revision; atRev returns what matched then', async () => {
    const first = await admin.put(board, 'h/recipe', { text: 'orange marmalade on toast' });
    const second = await admin.put(board, 'h/recipe', { text: 'plain porridge with salt' });
    const now = await admin.search(board, 'marmalade', { minRev: second.rev });
    expect(keys(now)).toEqual([]);
    const past = await admin.search(board, 'marmalade', { history: true });
    expect(past.items.map((i) => [i.key, i.rev, i.version])).toEqual([['h/recipe', first.rev, 1]]);
    expect(past.items[0]!.highlights[0]).toMatchObject({ path: '/text', text: 'orange marmalade on toast' });
    expect(keys(await admin.search(board, 'marmalade', { history: true, fromRev: second.rev }))).toEqual([]);
    const then = await admin.search(board, 'marmalade', { atRev: first.rev });
    expect(then.rev).toBe(first.rev);
    expect(then.items.map((i) => [i.key, i.rev, i.version])).toEqual([['h/recipe', first.rev, 1]]);
    expect(keys(await admin.search(board, 'marmalade', { atRev: second.rev }))).toEqual([]);
    expect(keys(await admin.search(board, 'porridge', { atRev: second.rev }))).toEqual(['h/recipe']);
    // Both values of the key, newest first at equal score.
    const third = await admin.put(board, 'h/recipe', { text: 'orange marmalade on toast' });
    const both = await admin.search(board, 'marmalade', { history: true, minRev: third.rev });
    expect(both.items.map((i) => i.version)).toEqual([3, 1]);
  });
});

describe('acceptance 4: a token reading only x/', () => {
  it('never sees keys outside x/, nor their counts', async () => {
    const reader = await nodes[1]!.client({ token: await token('reader', `read:${board}/x/`) });
    const pages = await allPages(reader, 'saffron', { limit: 2 });
    expect(pages.flatMap(keys).sort()).toEqual(['x/9001', 'x/9002', 'x/9003']);
    // The admin sees the y/ keys too, ranked above (they say saffron twice).
    const everyone = await admin.search(board, 'saffron', { limit: 5 });
    expect(keys(everyone).every((k) => k.startsWith('y/'))).toBe(true);
    for (const options of [{}, { history: true }, { atRev: seededRev }, { patterns: ['y/**'] }, { patterns: ['**'] }] as SearchOptions[]) {
      const seen = (await allPages(reader, 'saffron', { ...options, limit: 50 })).flatMap(keys);
      expect(
        seen.every((k) => k.startsWith('x/')),
        JSON.stringify(options),
      ).toBe(true);
    }
    // A word that only y/ keys hold reads exactly as a word nobody wrote, misspelt or not.
    const strip = (r: SearchResult) => ({ ...r, rev: 0 });
    const hidden = await reader.search(board, 'xylophone');
    const absent = await reader.search(board, 'nonexistentword');
    expect(strip(hidden)).toEqual(strip(absent));
    expect(strip(await reader.search(board, 'xylofone'))).toEqual(strip(absent));
    expect(strip(hidden)).toEqual({ items: [], rev: 0, more: false });
    expect(await codeOf(reader.search(randomBoard('other'), 'saffron'))).toBe('FORBIDDEN');
  });
});

describe('acceptance 5: deletes and rebuilds', () => {
  const queries: Array<[string, SearchOptions]> = [
    ['quartz', {}],
    ['"quartz harbour"', {}],
    ['quarts harbor', {}],
    ['quartz -harbour', { patterns: ['docs/**'] }],
    ['saffron', { limit: 100 }],
    ['marmalade', { history: true }],
  ];
  const results = async () => Promise.all(queries.map(([q, o]) => allPages(admin, q, o)));

  it('a deleted key leaves the current index (history still has it)', async () => {
    const { rev } = await admin.delete(board, 'docs/g0/k101');
    const r = await admin.search(board, 'quartz', { minRev: rev });
    expect(keys(r)).not.toContain('docs/g0/k101');
    expect(keys(r)).toContain('docs/g0/k102');
    const rows = await db.query('SELECT 1 FROM search_docs WHERE board = $1 AND key = $2', [board, 'docs/g0/k101']);
    expect(rows).toEqual([]);
    expect(keys(await admin.search(board, 'quartz', { history: true, limit: 100 }))).toContain('docs/g0/k101');
    // Put back with the value it had before the delete: indexed again.
    const back = await admin.put(board, 'docs/g0/k101', valueOf(101, 'docs/g0/k101'));
    const again = await admin.search(board, 'quartz', { minRev: back.rev, patterns: ['docs/g0/**'] });
    expect(again.items.filter((i) => i.key === 'docs/g0/k101').map((i) => [i.rev, i.version])).toEqual([[back.rev, 1]]);
  });

  it('a put with unchanged text writes nothing to the index and is found at its revision; changed strings or member names make a new document', async () => {
    const key = 'notes/reuse';
    const doc = async () =>
      (
        await db.query<{ rev: string; version: string; tsv: string; source_md5: string; xmin: string }>(
          'SELECT rev, version, tsv::text AS tsv, source_md5::text AS source_md5, xmin::text AS xmin FROM search_docs WHERE board = $1 AND key = $2',
          [board, key],
        )
      )[0]!;
    let { rev } = await admin.put(board, key, { zirconia: 1, status: 'gleaming obsidian' });
    expect(keys(await admin.search(board, 'zirconia obsidian', { minRev: rev }))).toEqual([key]);
    const first = await doc();
    expect(Number(first.rev)).toBe(rev);
    // A number moved: the text is the same, the document's row is not written (same xmin)...
    ({ rev } = await admin.put(board, key, { zirconia: 2, status: 'gleaming obsidian' }));
    const found = await admin.search(board, 'obsidian', { minRev: rev });
    // ...and the search gives the key's current revision and version.
    expect(found.items.map((i) => [i.key, i.rev, i.version])).toEqual([[key, rev, 2]]);
    expect(await doc()).toEqual(first);
    // The same value again: likewise.
    ({ rev } = await admin.put(board, key, { zirconia: 2, status: 'gleaming obsidian' }));
    const again = await admin.search(board, 'obsidian', { minRev: rev });
    expect(again.items.map((i) => [i.key, i.rev, i.version])).toEqual([[key, rev, 3]]);
    expect(again.items[0]!.highlights).toEqual(found.items[0]!.highlights);
    expect(await doc()).toEqual(first);
    // The same text at another path: the document takes the new strings and keeps its tsvector.
    ({ rev } = await admin.put(board, key, { zirconia: 2, status: ['', 'gleaming obsidian'] }));
    const moved = await admin.search(board, 'obsidian', { minRev: rev });
    expect(moved.items[0]!.highlights.map((h) => h.path)).toEqual(['/status/1']);
    const second = await doc();
    expect([second.tsv, second.source_md5, Number(second.rev)]).toEqual([first.tsv, first.source_md5, rev]);
    expect(second.xmin).not.toBe(first.xmin);
    ({ rev } = await admin.put(board, key, { garnetite: 2, status: 'gleaming obsidian' }));
    expect(keys(await admin.search(board, 'garnetite', { minRev: rev }))).toEqual([key]);
    // A new text brings its words: a misspelling of the new member name finds the key.
    const close = await admin.search(board, 'garnetyte');
    expect([close.fuzzy, keys(close)]).toEqual([true, [key]]);
    expect(keys(await admin.search(board, 'zirconia'))).toEqual([]);
    ({ rev } = await admin.put(board, key, { garnetite: 2, status: 'dull basalt' }));
    expect(keys(await admin.search(board, 'basalt', { minRev: rev }))).toEqual([key]);
    expect(keys(await admin.search(board, 'obsidian'))).toEqual([]);
    expect((await doc()).source_md5).not.toBe(second.source_md5);
  });

  it('a rebuild by command reproduces the same results', async () => {
    const before = await results();
    const docs = await db.query<{ n: string }>('SELECT count(*) n FROM search_docs WHERE board = $1', [board]);
    await db.query('DELETE FROM search_docs WHERE board = $1', [board]);
    expect(keys(await admin.search(board, '"quartz harbour"'))).toEqual([]);
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/search-rebuild.ts', '--board', board], {
        env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'warn' },
        stdio: 'inherit',
      });
      child.once('close', (c) => resolve(c ?? -1));
    });
    expect(code).toBe(0);
    expect(await db.query<{ n: string }>('SELECT count(*) n FROM search_docs WHERE board = $1', [board])).toEqual(docs);
    expect(await results()).toEqual(before);
  });

  it('a migration that asks for it rebuilds the index on start', async () => {
    const before = await results();
    await db.query('DELETE FROM search_docs WHERE board = $1', [board]);
    await db.query('DELETE FROM search_words WHERE board = $1', [board]);
    await db.query('UPDATE search_state SET built_version = 0');
    const restarted = await startTestServer({ env });
    nodes.push(restarted);
    const [state] = await db.query<{ built_version: number }>('SELECT built_version FROM search_state');
    expect(state!.built_version).toBeGreaterThan(0);
    expect(await results()).toEqual(before);
  });
});

describe('the command line', () => {
  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'client/cli/main.ts', ...args], {
      env: { ...process.env, BLACKBOARD_URL: nodes[0]!.wsUrl, BLACKBOARD_TOKEN: await token('cli', `read:${board}`) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number>((resolve) => child.once('close', (c) => resolve(c ?? -1)));
    return { code, stdout, stderr };
  }

  it('blackboard search prints ranked keys with marked words, or the reply with --json', async () => {
    const human = await cli('search', board, 'quarts harbor', '--pattern', 'docs/**', '--min-rev', String(seededRev));
    expect(human.code).toBe(0);
    expect(human.stdout.split('\n')[0]).toMatch(new RegExp(`^${PLANTED}  rev \\d+  v1  score `));
    expect(human.stdout).toContain('«quartz» «harbour» protocol');
    expect(human.stderr).toContain('close words');
    const json = await cli('search', board, '"quartz harbour"', '--json');
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as SearchResult).items.map((i) => i.key)).toEqual([PLANTED]);
    expect((await cli('search', board, 'quartz', '--limit', '0')).code).not.toBe(0);
  });
});
