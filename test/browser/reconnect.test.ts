import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardUrl, ensureDashboardBuilt, keyValue, launchBrowser, PAGE_TEST_ENV, type TestBrowser } from '../helpers/browser.js';
import { randomBoard, startTestServer, type TestServer } from '../helpers/server.js';

let browser: TestBrowser;
const running: TestServer[] = [];

beforeAll(async () => {
  await ensureDashboardBuilt();
  browser = await launchBrowser({ width: 1440, height: 1000 });
});
afterAll(async () => {
  await browser?.close();
  for (const server of running) await server.stop().catch(() => undefined);
});

async function start(env: Record<string, string> = {}): Promise<TestServer> {
  const server = await startTestServer({ env: { ...PAGE_TEST_ENV, ...env } });
  running.push(server);
  return server;
}

describe('dashboard across a server restart', () => {
  it('shows it reconnecting, then catches up with every write made meanwhile', async () => {
    const board = randomBoard('dash');
    const first = await start();
    const port = first.port;
    const before = await first.client({ agent: 'before' });
    for (let i = 0; i < 5; i++) await before.put(board, `before/${i}`, { i });

    const page = await browser.open(dashboardUrl(first.url, board));
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10_000 });
    await expect.poll(() => keyValue(page, 'before/4'), { timeout: 5_000 }).toBe('{"i":4}');

    await first.stop();
    await page.locator('#status[data-state="reconnecting"]').waitFor({ timeout: 5_000 });
    expect(await page.locator('#status').textContent()).toContain('reconnecting');

    // While the page's server is down, another node on the same Redis takes writes.
    const other = await start();
    const meanwhile = await other.client({ agent: 'meanwhile' });
    const written = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      const key = `during/${String(i).padStart(2, '0')}`;
      await meanwhile.put(board, key, { i, while: 'down' });
      written.set(key, JSON.stringify({ i, while: 'down' }));
    }
    await meanwhile.put(board, 'before/0', 'overwritten while down');
    written.set('before/0', '"overwritten while down"');
    // The page must still be waiting: its server is not back yet.
    expect(await page.locator('#status').getAttribute('data-state')).toBe('reconnecting');

    const second = await start({ PORT: String(port) });
    expect(second.port).toBe(port);
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 15_000 });
    const after = await second.client({ agent: 'after' });
    const { rev: lastRev } = await after.put(board, 'after/done', true);
    written.set('after/done', 'true');

    await expect.poll(() => page.locator('#rev').textContent(), { timeout: 5_000 }).toBe(`rev ${lastRev}`);
    // Every write made meanwhile is on the page, with its value.
    await page.locator('#key-filter').fill('during/');
    await expect.poll(() => page.locator('#keys .summary').textContent()).toContain('20 matches');
    for (const [key, value] of written) {
      if (key.startsWith('during/')) expect(await keyValue(page, key), key).toBe(value);
    }
    await page.locator('#key-filter').fill('');
    // The tree re-renders on the next animation frame after the filter changes.
    await expect.poll(() => keyValue(page, 'before/0')).toBe(written.get('before/0'));
    await expect.poll(() => keyValue(page, 'after/done')).toBe('true');
    // ...and in the event log exactly once each: resumed from the last revision seen, no gap, no duplicate.
    await page.locator('#event-filter').fill('during/');
    await expect.poll(() => page.locator('#events .summary').textContent()).toMatch(/^20 of \d+ events match$/);
    expect(await page.locator('#status').textContent()).toContain('reconnected 1×');
    expect(browser.errors).toEqual([]);
    await page.close();
  });
});
