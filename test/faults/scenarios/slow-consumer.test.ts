import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, type BlackboardClient, type KeyRecord } from '../../../client/sdk/index.js';
import { FaultScenario } from '../harness/scenario.js';
import { sleep, waitUntil } from '../harness/time.js';

const OUTBOUND_LIMIT = 256 * 1024;
const BULK_VALUE = 'x'.repeat(8_000);
/** Far more than the kernel's socket buffers plus the limit: the consumer must be cut before this. */
const BULK_MAX_BYTES = 200 * 1024 * 1024;
/** Bulk writes made while the dropped consumer is away: its resume must replay them (several drain slices). */
const AWAY_WRITES = 40;

let scenario: FaultScenario;
beforeAll(async () => {
  scenario = await FaultScenario.start({
    name: 'slow-consumer',
    nodes: 1,
    durability: 'memory',
    serverEnv: { MAX_OUTBOUND_BYTES: String(OUTBOUND_LIMIT) },
  });
});
afterAll(() => scenario?.cleanup());

/** What the consumer's event stream lacks against the board's revisions. */
function gaps(applied: readonly number[], fromRev: number, toRev: number): string[] {
  const seen = new Set(applied);
  const missing: number[] = [];
  for (let rev = fromRev; rev <= toRev; rev++) if (!seen.has(rev)) missing.push(rev);
  const repeated = applied.filter((rev, i) => applied.indexOf(rev) !== i).length;
  const backwards = applied.filter((rev, i) => i > 0 && rev <= applied[i - 1]!).length;
  if (missing.length + repeated + backwards === 0) return [];
  const ranges: string[] = [];
  for (let i = 0; i < missing.length; ) {
    let j = i;
    while (j + 1 < missing.length && missing[j + 1] === missing[j]! + 1) j++;
    ranges.push(i === j ? `${missing[i]}` : `${missing[i]}–${missing[j]}`);
    i = j + 1;
  }
  const skipped = `the resumed subscription skipped ${missing.length} revisions (${ranges.slice(0, 5).join(', ')})`;
  return [`${skipped}; ${repeated} repeated, ${backwards} out of order`];
}

/** Every key of the board, following `more`; the writes have stopped, so every page is of one revision. */
async function listAll(client: BlackboardClient, board: string): Promise<{ rev: number; items: KeyRecord[] }> {
  const items: KeyRecord[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await client.list(board, '', { limit: 10_000, ...(after === undefined ? {} : { after }) });
    items.push(...page.items);
    if (!page.more || page.items.length === 0) return { rev: page.rev, items };
    after = page.items.at(-1)!.key;
  }
}

describe('a slow consumer', () => {
  it('a subscriber that stops reading is closed with 4008 and resumes with fromRev, losing nothing', async () => {
    const { workload, profile, nodes, board } = scenario;
    const node = nodes[0]!;
    // A resume whose replay from Postgres/stream outgrows one drain slice skips revisions
    // when new ones are committed meanwhile: the history replayer does not wait for the
    // subscription's asynchronous delivery between batches, so the cursor moves past
    // revisions still waiting to be sent. The full profile keeps writing while the consumer
    // resumes, as real boards do, and fails on it; the quick profile holds writes until the
    // consumer has caught up and checks everything else.
    const writeDuringResume = profile.name === 'full';
    await scenario.run(async () => {
      const proxy = await scenario.proxy(node.port);
      const consumer = await scenario.client(`ws://127.0.0.1:${proxy.port}/v1/ws`, { agent: 'consumer' });
      const closes: number[] = [];
      consumer.on('close', (code) => closes.push(Number(code)));
      let opens = 0;
      consumer.on('open', () => opens++);
      const applied: number[] = [];
      let resets = 0;
      const watch = consumer.watch(board, ['**'], (change) => {
        if (change.type === 'event') applied.push(change.rev);
        if (change.type === 'reset') resets++;
      });
      await watch.ready();
      const startRev = watch.rev;
      const bulk = await scenario.client(node.wsUrl, { agent: 'bulk' });
      let bulkWrites = 0;
      await scenario.begin();
      const perPhase = Math.ceil(profile.operations / (profile.rounds + 1));
      for (let round = 0; round < profile.rounds; round++) {
        await workload.more(perPhase, 120_000);
        const droppedBefore = await node.metric('blackboard_slow_consumers_dropped_total');
        const closesBefore = closes.length;
        proxy.stall();
        let bytes = 0;
        while ((await node.metric('blackboard_slow_consumers_dropped_total')) === droppedBefore) {
          if (bytes > BULK_MAX_BYTES) throw new Error(`no 4008 after ${bytes} bytes of events to a stalled consumer`);
          await Promise.all(Array.from({ length: 20 }, (_, i) => bulk.put(board, `bulk/${i}`, { n: bulkWrites + i, BULK_VALUE })));
          bulkWrites += 20;
          bytes += 20 * BULK_VALUE.length;
        }
        await Promise.all(Array.from({ length: AWAY_WRITES }, (_, i) => bulk.put(board, `bulk/${i % 20}`, { n: bulkWrites + i, BULK_VALUE })));
        bulkWrites += AWAY_WRITES;
        if (!writeDuringResume) await workload.pause();
        // Full profile: bulk writes go on while the consumer comes back, and it stays a slow
        // reader (its link stalls around each write) until a while after it re-subscribed.
        let churning = writeDuringResume;
        const churn = (async () => {
          for (let i = 0; churning && i < 1_000; i++) {
            proxy.stall();
            await bulk.put(board, `bulk/${i % 20}`, { n: bulkWrites, BULK_VALUE });
            bulkWrites++;
            proxy.resume();
            await sleep(20);
          }
        })();
        const opensBefore = opens;
        proxy.resume();
        await waitUntil(() => closes.slice(closesBefore).includes(CloseCode.SLOW_CONSUMER), 30_000, 'the consumer to see 4008');
        await waitUntil(() => opens > opensBefore, 30_000, 'the consumer to reconnect');
        if (writeDuringResume) await sleep(1_500);
        churning = false;
        await churn;
        const { rev: target } = await bulk.list(board, 'none/', { limit: 1 });
        await waitUntil(() => watch.rev >= target, 30_000, 'the consumer to catch up');
        workload.resume();
        scenario.fault(
          `consumer stalled at the proxy (stall ${proxy.counts.stalls}); the node closed it with 4008 after ${Math.round(bytes / 1024)} KiB ` +
            `of bulk writes (slow_consumers_dropped_total ${droppedBefore} → ${droppedBefore + 1}); the client saw close ${CloseCode.SLOW_CONSUMER}` +
            (writeDuringResume ? '; writes went on while it resumed' : ''),
        );
      }
      await workload.finishAfterFaults(profile.operations, 300_000);
      await workload.stop();
      // The board in pages: the bulk values pass the node's reply bound, so one reply cannot hold them all.
      const listing = await listAll(bulk, board);
      await waitUntil(() => watch.rev >= listing.rev, 30_000, 'the consumer to catch up');
      const replica = [...watch.replica].map(([key, e]) => ({ key, value: e.value, version: e.version, modRev: e.modRev }));
      const listed = listing.items.map((i) => ({ key: i.key, value: i.value, version: i.version, modRev: i.modRev }));
      replica.sort((a, b) => (a.key < b.key ? -1 : 1));
      const problems = gaps(applied, startRev + 1, listing.rev);
      const row = await scenario.finish({
        domainOperations: bulkWrites,
        problems,
        checks: {
          replicaEqualsBoard: JSON.stringify(replica) === JSON.stringify(listed),
          everyRevisionOnceInOrder: problems.length === 0,
          resumedWithoutResnapshot: resets === 1,
        },
      });
      expect(row.checks, row.failure).toMatchObject({
        replicaEqualsBoard: true,
        everyRevisionOnceInOrder: true,
        resumedWithoutResnapshot: true,
      });
      expect(row.registerOperations).toBeGreaterThanOrEqual(profile.operations);
      expect(row.acknowledgedWritesLost).toBe(0);
      expect(row.linearizable, row.failure).toBe('yes');
      expect(row.passed).toBe(true);
      return row;
    });
  });
});
