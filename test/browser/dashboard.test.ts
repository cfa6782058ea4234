import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { dashboardUrl, keyValue, PAGE_TEST_ENV, pageTestFixture } from '../helpers/browser.js';
import { dashboardExtension } from '../../server/dashboard/extension.js';
import { mintToken } from '../../server/security/mint.js';
import { randomBoard, startTestServer } from '../helpers/server.js';

const fixture = pageTestFixture();

async function openBoard(board: string): Promise<Page> {
  const page = await fixture.browser.open(dashboardUrl(fixture.server.url, board));
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10_000 });
  return page;
}

describe('dashboard page', () => {
  it('is served at / with its assets, content types and no way out of its folder', async () => {
    const page = await fetch(`${fixture.server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    const style = /href="\.\/(assets\/[^"]+\.css)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect(style).toBeDefined();
    const js = await fetch(`${fixture.server.url}/${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toContain('immutable');
    const css = await fetch(`${fixture.server.url}/${style}`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    for (const path of [
      '/../package.json',
      '/assets/../../package.json',
      '/%2e%2e/package.json',
      '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
      '/..%5cpackage.json',
    ]) {
      const res = await fetch(`${fixture.server.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain('"name": "blackboard"');
    }
    expect((await fetch(`${fixture.server.url}/healthz`)).status).toBe(200);
  });

  it('without a build, / is a page saying to run npm run build', async () => {
    await using bare = await startTestServer({
      env: PAGE_TEST_ENV,
      extensions: () => [dashboardExtension('/nonexistent/dashboard')],
    });
    const res = await fetch(`${bare.url}/`);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toContain('npm run build');
    expect((await fetch(`${bare.url}/assets/app.js`)).status).toBe(404);
  });

  it('shows a key an agent writes within 2 s, and the revision ticking', async () => {
    const board = randomBoard('dash');
    const agent = await fixture.server.client({ agent: 'writer-1' });
    await agent.put(board, 'plan/first', { step: 1 });
    const page = await openBoard(board);
    await expect.poll(() => keyValue(page, 'plan/first'), { timeout: 5_000 }).toBe('{"step":1}');

    const { rev } = await agent.put(board, 'plan/second', { step: 2, note: 'written while the page is open' });
    const written = Date.now();
    await page.locator('#keys .vrow[data-key="plan/second"] .value', { hasText: 'written while the page is open' }).waitFor({ timeout: 2_000 });
    const seenAfterMs = Date.now() - written;
    expect(seenAfterMs).toBeLessThan(2_000);
    await expect.poll(() => page.locator('#rev').textContent()).toBe(`rev ${rev}`);
    // The event log has it, with the writing agent.
    await page.locator('#events .vrow', { hasText: 'plan/second' }).filter({ hasText: 'writer-1' }).waitFor({ timeout: 2_000 });
    expect(fixture.browser.errors).toEqual([]);
    await page.close();
  });

  it('works with a token when authentication is on (?token= in the page URL)', async () => {
    const secret = 'dashboard-test-secret-0123456789-abcdef';
    await using secured = await startTestServer({ env: { AUTH_MODE: 'jwt', JWT_SECRET: secret, ...PAGE_TEST_ENV } });
    const board = randomBoard('dash');
    const writerToken = await mintToken({ sub: 'writer-2', scope: `write:${board} read:${board}`, ttlSeconds: 600, secret });
    const viewerToken = await mintToken({ sub: 'viewer', scope: `read:${board}`, ttlSeconds: 600, secret });
    const writer = await secured.client({ token: writerToken });
    await writer.put(board, 'secret/plan', { ok: true });

    // No token: refused at the upgrade, so the page never connects.
    const refused = await fixture.browser.open(dashboardUrl(secured.url, board));
    await refused.locator('#status[data-state="connecting"]').waitFor();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await refused.locator('#status').getAttribute('data-state')).toBe('connecting');
    expect(await refused.locator('#status').textContent()).toContain('?token=');
    expect(await keyValue(refused, 'secret/plan')).toBeNull();
    await refused.close();

    const page = await fixture.browser.open(dashboardUrl(secured.url, board, { token: viewerToken }));
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10_000 });
    await expect.poll(() => keyValue(page, 'secret/plan'), { timeout: 5_000 }).toBe('{"ok":true}');
    await writer.put(board, 'secret/next', 2);
    await expect.poll(() => keyValue(page, 'secret/next'), { timeout: 2_000 }).toBe('2');
    // The token stays in the page URL next to the board, so a reload works the same.
    expect(new URL(page.url()).searchParams.get('token')).toBe(viewerToken);
    await page.close();
  });
});
