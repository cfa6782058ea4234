import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardUrl, ensureDashboardBuilt, keyValue, launchBrowser, PAGE_TEST_ENV, type TestBrowser } from '../helpers/browser.js';
import { testDatabase, type TestDatabase } from '../helpers/pg-database.js';
import { startRedisProcess } from '../helpers/redis-process.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

let browser: TestBrowser;
beforeAll(async () => {
  await ensureDashboardBuilt();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/** Six revisions of a small board: what each key held at each one is known. */
async function writeHistory(server: TestServer, board: string): Promise<number> {
  const agent = await server.client({ agent: 'historian' });
  await agent.put(board, 'a', 1); // rev 1
  await agent.put(board, 'b', 'x'); // rev 2
  await agent.put(board, 'a', 2); // rev 3
  await agent.delete(board, 'b'); // rev 4
  await agent.put(board, 'a', 3); // rev 5
  // rev 6, acknowledged once in history where the server keeps it.
  const last = await agent.put(board, 'c', { late: true }, server.services.durability.available ? { durability: 'durable' } : {});
  return last.rev;
}

/** Moves the slider as a reader would, with the arrow keys. */
async function travelTo(page: Page, rev: number): Promise<void> {
  const slider = page.locator('#time-slider');
  const current = Number(await slider.inputValue());
  await slider.focus();
  for (let i = 0; i < Math.abs(current - rev); i++) await page.keyboard.press(current > rev ? 'ArrowLeft' : 'ArrowRight');
  await expect.poll(() => page.locator('#time-label').textContent()).toBe(`rev ${rev} of 6`);
  await expect.poll(() => page.locator('#keys .summary').textContent()).toContain(`at rev ${rev}`);
}

async function checkTimeTravel(page: Page): Promise<void> {
  await expect.poll(() => page.locator('#rev').textContent(), { timeout: 5_000 }).toBe('rev 6');
  await travelTo(page, 2);
  expect(await keyValue(page, 'a')).toBe('1');
  expect(await keyValue(page, 'b')).toBe('"x"');
  expect(await keyValue(page, 'c')).toBeNull();
  await travelTo(page, 4);
  expect(await keyValue(page, 'a')).toBe('2');
  expect(await keyValue(page, 'b')).toBeNull();

  // Back to live; then through a key's own history: a click on one of its revisions travels there.
  await page.locator('#time-live').click();
  await expect.poll(() => keyValue(page, 'c')).toBe('{"late":true}');
  expect(await keyValue(page, 'a')).toBe('3');
  await page.locator('#keys .vrow[data-key="a"]').click();
  const entries = page.locator('#detail li[data-rev]');
  await expect.poll(() => entries.evaluateAll((items) => items.map((i) => (i as HTMLElement).dataset.rev))).toEqual(['5', '3', '1']);
  await page.locator('#detail li[data-rev="3"]').click();
  await expect.poll(() => page.locator('#time-label').textContent()).toBe('rev 3 of 6');
  await expect.poll(() => keyValue(page, 'a')).toBe('2');
  expect(await keyValue(page, 'b')).toBe('"x"');
}

async function run(server: TestServer, via: string): Promise<void> {
  const board = randomBoard('dash');
  expect(await writeHistory(server, board)).toBe(6);
  const page = await browser.open(dashboardUrl(server.url, board));
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10_000 });
  await checkTimeTravel(page);
  expect(await page.locator('#time-status').textContent()).toContain(via);
  expect(browser.errors).toEqual([]);
  await page.close();
}

describe('time travel', () => {
  it('the slider shows the board as of an earlier revision, rebuilt from the change log (no Postgres history)', async () => {
    await using server = await startTestServer({ env: PAGE_TEST_ENV });
    await run(server, 'rebuilt from the change log');
  });

  it('the slider shows the board as of an earlier revision, read with atRev from Postgres history', async () => {
    const db: TestDatabase = testDatabase('bbdash');
    // A Redis of its own: a Redis keeps the history of one database (its cluster id).
    await using redis = await startRedisProcess();
    try {
      await using server = await startTestServer({ env: { ...PAGE_TEST_ENV, HISTORY_ENABLED: 'true', DATABASE_URL: db.url, REDIS_URL: redis.url } });
      await run(server, 'from history');
    } finally {
      await db.drop();
    }
  });
});
