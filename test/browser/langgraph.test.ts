import { describe, expect, it } from 'vitest';
import { BlackboardSaver } from '../../client/langgraph/index.js';
import { dashboardUrl, pageTestFixture } from '../helpers/browser.js';
import { randomBoard } from '../helpers/server.js';
import { relayGraph } from '../langgraph/fixtures/relay-graph.js';

const fixture = pageTestFixture();

describe('LangGraph thread view', () => {
  it('shows a thread run by BlackboardSaver as a timeline of checkpoints with channel values, live', async () => {
    const board = randomBoard('dashlg');
    const page = await fixture.browser.open(dashboardUrl(fixture.server.url, board));
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 10_000 });
    await page.locator('#keys').waitFor();
    expect(await page.locator('#threads').isHidden()).toBe(true);

    // The page tests' server keeps no history, so this saver acknowledges from Redis.
    const client = await fixture.server.client({ agent: 'graph-runner' });
    const saver = new BlackboardSaver({ client, board, durability: 'memory' });
    const config = { configurable: { thread_id: 'support/42' } };
    await relayGraph(saver, { rounds: 3 }).invoke({ count: 0 }, config);

    const row = page.locator('#threads tr.thread[data-thread="support/42"]');
    await row.waitFor({ timeout: 10_000 });
    const history = [];
    for await (const tuple of saver.list(config)) history.push(tuple);
    const latest = history[0]!;
    await expect.poll(() => row.locator('.step').textContent(), { timeout: 10_000 }).toBe(String(latest.metadata?.step));

    // One timeline entry per checkpoint, oldest first, each with the channel values of its step.
    const items = page.locator('#threads ol.timeline li.checkpoint');
    await expect.poll(() => items.count(), { timeout: 10_000 }).toBe(history.length);
    const ids = await items.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.checkpoint));
    expect(ids).toEqual(history.map((t) => t.checkpoint.id).reverse());
    const last = items.last();
    expect(await last.getAttribute('class')).toContain('latest');
    expect(await last.locator('dl.channels').textContent()).toContain(`count${latest.checkpoint.channel_values.count}`);
    expect(await last.locator('dl.channels').textContent()).toContain('"step:3"');
    const second = items.nth(2);
    const secondTuple = history[history.length - 3]!;
    expect(await second.locator('dl.channels').textContent()).toContain(`count${String(secondTuple.checkpoint.channel_values.count)}`);

    // A step opens its checkpoint key in the detail panel.
    await second.click();
    const key = saver.keysOf('support/42').checkpoint(secondTuple.checkpoint.id);
    await page.locator('#detail .detail-key', { hasText: key }).waitFor({ timeout: 5_000 });

    // A new run on the thread shows up without reloading.
    await relayGraph(saver, { rounds: 4 }).invoke({ count: 0 }, config);
    await expect.poll(() => items.count(), { timeout: 10_000 }).toBeGreaterThan(history.length);
  });
});
