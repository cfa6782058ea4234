import { describe, expect, it } from 'vitest';
import { dashboardUrl, pageTestFixture } from '../helpers/browser.js';
import { randomBoard, waitFor } from '../helpers/server.js';

const fixture = pageTestFixture();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('tasks panel', () => {
  it('shows a task worked by an agent: its progress bar moves and it ends completed', async () => {
    const board = randomBoard('dash');
    const page = await fixture.browser.open(dashboardUrl(fixture.server.url, board));
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10_000 });
    await page.locator('#tasks', { hasText: 'No tasks on this board.' }).waitFor();

    // Everything below goes through the real task ops: enqueue, work (push), heartbeat with progress, complete.
    const producer = await fixture.server.client({ agent: 'planner' });
    const worker = await fixture.server.client({ agent: 'worker-1' });
    const { taskId } = await producer.enqueue(board, 'build', { target: 'docs' }, { taskId: 'build-docs' });
    const row = page.locator(`#tasks tr.task[data-task="${taskId}"]`);
    await row.waitFor({ timeout: 5_000 });

    let release!: () => void;
    const finish = new Promise<void>((r) => (release = r));
    const steps = [15, 35, 60, 85];
    await worker.work(board, 'build', async (_data, ctx) => {
      for (const step of steps) {
        await ctx.progress(step);
        await sleep(400);
      }
      await finish;
      return { pages: 12 };
    });

    // Sample what the page shows while the worker reports progress.
    const seen: number[] = [];
    const states = new Set<string>();
    await waitFor(
      async () => {
        const progress = Number(await row.locator('.bar').getAttribute('data-progress'));
        if (seen[seen.length - 1] !== progress) seen.push(progress);
        states.add((await row.locator('.state').textContent()) ?? '');
        return progress === steps[steps.length - 1];
      },
      15_000,
      'the last progress step on the page',
    );
    expect(states).toContain('active');
    expect(await row.locator('.attempt').textContent()).toMatch(/^1\b/);
    // The bar moved forward through several values, never back.
    const moving = seen.filter((p) => p > 0);
    expect(moving.length).toBeGreaterThanOrEqual(3);
    expect([...moving].sort((a, b) => a - b)).toEqual(moving);
    const width = await row.locator('.bar .fill').evaluate((el) => (el as HTMLElement).style.width);
    expect(width).toBe('85%');

    release();
    await row.locator('.state', { hasText: 'completed' }).waitFor({ timeout: 10_000 });
    expect((await producer.task(board, taskId)).state).toBe('completed');
    expect(await page.locator('#tasks .summary').textContent()).toContain('1 completed');
    expect(fixture.browser.errors).toEqual([]);
    await page.close();
  });
});
