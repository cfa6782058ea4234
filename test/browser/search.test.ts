import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardUrl, ensureDashboardBuilt, keyValue, launchBrowser, PAGE_TEST_ENV, type TestBrowser } from '../helpers/browser.js';
import { testDatabase, type TestDatabase } from '../helpers/pg-database.js';
import { startRedisProcess, type RedisProcess } from '../helpers/redis-process.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

let browser: TestBrowser;
let db: TestDatabase;
let redis: RedisProcess;
let server: TestServer;

beforeAll(async () => {
  await ensureDashboardBuilt();
  browser = await launchBrowser();
  db = testDatabase('bbdash');
  // A Redis of its own: the persister writes only this test's boards into its database.
  redis = await startRedisProcess();
  server = await startTestServer({ env: { ...PAGE_TEST_ENV, HISTORY_ENABLED: 'true', DATABASE_URL: db.url, REDIS_URL: redis.url } });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await db?.drop();
  await redis?.stop();
});

describe('dashboard search', () => {
  it('finds keys with their words marked, and a click opens the key at that revision', async () => {
    const board = randomBoard('dsrch');
    const agent = await server.client({ agent: 'writer' });
    const first = await agent.put(board, 'notes/plan', { title: 'Launch', body: 'We launch the lighthouse on Monday' }); // rev 1
    await agent.put(board, 'notes/other', { body: 'Nothing to see here' }); // rev 2
    await agent.put(board, 'notes/plan', { title: 'Launch', body: 'We launch the rocket on Tuesday' }, { durability: 'durable' }); // rev 3

    const page = await browser.open(dashboardUrl(server.url, board));
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10_000 });
    await expect.poll(() => page.locator('#rev').textContent(), { timeout: 5_000 }).toBe('rev 3');

    // The current values: one match, its words marked.
    await page.locator('#search-input').fill('rocket tuesday');
    await page.locator('#search-input').press('Enter');
    const items = page.locator('#search li[data-key]');
    await expect
      .poll(() => items.evaluateAll((li) => li.map((i) => `${(i as HTMLElement).dataset.key}@${(i as HTMLElement).dataset.rev}`)))
      .toEqual(['notes/plan@3']);
    expect(await page.locator('#search li[data-key] mark').allTextContents()).toEqual(['rocket', 'Tuesday']);
    expect(await page.locator('#search .search-path').first().textContent()).toBe('/body');

    // A misspelt word still finds it.
    await page.locator('#search-input').fill('rockte');
    await page.locator('#search-input').press('Enter');
    await expect.poll(() => page.locator('#search-status').textContent()).toContain('close words');
    expect(await page.locator('#search li[data-key] mark').allTextContents()).toEqual(['rocket']);

    // History: the overwritten value, at its own revision; a click shows the board as it was then.
    await page.locator('#search-input').fill('lighthouse');
    await page.locator('#search-input').press('Enter');
    await expect.poll(() => page.locator('#search-status').textContent()).toBe('no match');
    await page.locator('#search-history').check();
    await expect.poll(() => items.evaluateAll((li) => li.map((i) => (i as HTMLElement).dataset.rev))).toEqual([String(first.rev)]);
    expect(await page.locator('#search li[data-key] mark').allTextContents()).toEqual(['lighthouse']);
    await items.first().click();
    await expect.poll(() => page.locator('#time-label').textContent()).toBe(`rev ${first.rev} of 3`);
    await expect.poll(() => keyValue(page, 'notes/plan')).toContain('lighthouse');
    expect(await keyValue(page, 'notes/other')).toBeNull();
    await expect.poll(() => page.locator('#detail .detail-key').textContent()).toBe('notes/plan');
    expect(browser.errors).toEqual([]);
    await page.close();
  });
});
