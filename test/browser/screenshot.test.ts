import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dashboardUrl, keyValue, pageTestFixture } from '../helpers/browser.js';
import { randomBoard, waitFor } from '../helpers/server.js';

const SCREENSHOT = resolve(import.meta.dirname, '../../docs/dashboard.png');

const fixture = pageTestFixture();

describe('dashboard screenshot', () => {
  it('a team of agents at work: keys, a lock, tasks in flight, agents present; saved to docs/dashboard.png', async () => {
    const board = randomBoard('demo');
    const alice = await fixture.server.client({ agent: 'alice' });
    const bob = await fixture.server.client({ agent: 'bob' });
    const carol = await fixture.server.client({ agent: 'carol' });

    await alice.put(board, 'plan/goal', 'Write the release notes for v2.0');
    await alice.put(board, 'plan/steps', { items: ['collect changes', 'draft', 'review'] });
    await bob.put(board, 'research/sources/changelog', { url: 'CHANGELOG.md', read: true });
    await bob.put(board, 'research/sources/issues', { open: 14, closed: 213 });
    await carol.put(board, 'draft/sections/intro', { words: 120, status: 'done' });
    await carol.put(board, 'draft/sections/features', { words: 480, status: 'writing' });
    await alice.put(board, 'review/comments', []);
    await alice.put(board, 'config/model', { name: 'planner', temperature: 0.2 });
    for (let i = 0; i < 6; i++) await carol.patch(board, 'plan/steps', [{ op: 'add', path: '/items/-', value: `check ${i + 1}` }]);

    const lock = await carol.acquireLock(board, 'draft/features', { ttlMs: 120_000 });
    await carol.put(board, 'draft/sections/features', { words: 640, status: 'writing' }, { fence: { lock: 'draft/features', token: lock.token } });
    await alice.presence(board, { role: 'planner' });
    await bob.presence(board, { role: 'researcher', model: 'small' });
    await carol.presence(board, { role: 'writer' });

    for (const [taskId, data] of [
      ['summarize-issues', { issues: 213 }],
      ['check-links', { pages: 40 }],
      ['spellcheck', { section: 'intro' }],
      ['translate-de', { section: 'intro' }],
    ] as const) {
      await alice.enqueue(board, 'docs', data, { taskId });
    }
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    await bob.work(
      board,
      'docs',
      async (data: { pages?: number }, ctx) => {
        if (ctx.taskId === 'check-links') {
          for (const p of [20, 45, 65]) await ctx.progress(p);
          await hold;
        }
        return data;
      },
      { concurrency: 1 },
    );

    const page = await fixture.browser.open(dashboardUrl(fixture.server.url, board));
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10_000 });
    await page.locator('#tasks tr.task[data-task="check-links"] .bar[data-progress="65"]').waitFor({ timeout: 15_000 });
    await page.locator('#locks tr.lock[data-lock="draft/features"]').waitFor();
    await page.locator('#agents tr.agent[data-agent="carol"]').waitFor();
    await page.locator('#keys .vrow[data-key="plan/steps"]').click();
    await page.locator('#detail li[data-rev]').first().waitFor();
    // A last write while the page is open, so one value is mid-flash as on a live board.
    await bob.put(board, 'research/sources/issues', { open: 12, closed: 215 });
    await expect.poll(() => keyValue(page, 'research/sources/issues')).toBe('{"open":12,"closed":215}');
    await page.screenshot({ path: SCREENSHOT });

    expect(await page.locator('#locks tr.lock .holder').first().textContent()).toBe('carol');
    expect(await page.locator('#agents tr.agent').count()).toBe(3);
    release();
    await waitFor(async () => (await alice.task(board, 'check-links')).state === 'completed', 10_000, 'the held task');
    expect(fixture.browser.errors).toEqual([]);
    await page.close();
  });
});
