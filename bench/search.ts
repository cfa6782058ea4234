import pg from 'pg';
import { BlackboardError, ErrorCode, type BlackboardClient } from '../client/sdk/index.js';
import { proseOfLength, seeded } from '../test/helpers/prose.js';
import { benchBoard } from './boards.js';
import { admitted, connectClient, type BenchContext } from './context.js';
import { percentile, round, type Figure } from './stats.js';

/**
 * Search: a board of N keys of ~1 KB prose, each tenth key carrying one of 1,000 rare
 * made-up words followed by `harbour`. Queries go one at a time through the SDK (the
 * WebSocket round trip included): a rare word (exact), `"<word> harbour"` (phrase), and the
 * word with two letters swapped (fuzzy: nothing matches as written). Beside them, the same
 * words looked for with `ILIKE '%word%'` over the same rows (the board's values in the
 * events table), straight in Postgres. Index lag: writes offered at 1,000/s, open loop, each
 * timed from its acknowledgement to the moment the board's watermark (and so the index,
 * written in the same transaction) reaches it.
 */

const SYLLABLES = ['ka', 'lo', 'mir', 'ten', 'vus', 'dra', 'pel', 'sor', 'qui', 'zan'];
const RARE_WORDS = 1_000;
const TXN_KEYS = 500;
const QUERIES = 200;
const SCAN_QUERIES = 10;

/** The j-th made-up word: three syllables, so each is one of 1,000. */
function rareWord(j: number): string {
  return SYLLABLES[j % 10]! + SYLLABLES[Math.floor(j / 10) % 10]! + SYLLABLES[Math.floor(j / 100) % 10]!;
}

/** The word with two of its middle letters swapped: a typo none of the values holds. */
function typo(word: string): string {
  const i = Math.floor(word.length / 2) - 1;
  return word.slice(0, i) + word[i + 1]! + word[i]! + word.slice(i + 2);
}

function value(i: number): { title: string; body: string } {
  const random = seeded(i + 7);
  let body = proseOfLength(random, 1_000);
  if (i % 10 === 0) body = `${body.slice(0, 400)} ${rareWord((i / 10) % RARE_WORDS)} harbour ${body.slice(400, 960)}`;
  return { title: proseOfLength(random, 40), body };
}

/** Searches refused with TIMEOUT (over SEARCH_TIMEOUT_MS in Postgres), counted rather than timed. */
let timeouts = 0;

async function timed(runs: number, query: (i: number) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    try {
      await query(i);
    } catch (err) {
      if (!(err instanceof BlackboardError && err.code === ErrorCode.TIMEOUT)) throw err;
      timeouts++;
      continue;
    }
    latencies.push(performance.now() - t0);
  }
  return latencies.sort((a, b) => a - b);
}

async function persistedRev(db: pg.Client, board: string): Promise<number> {
  const { rows } = await db.query<{ persisted_rev: string }>('SELECT persisted_rev FROM boards WHERE name = $1', [board]);
  return Number(rows[0]?.persisted_rev ?? 0);
}

async function seed(client: BlackboardClient, board: string, keys: number): Promise<number> {
  let rev = 0;
  for (let from = 0; from < keys; from += TXN_KEYS) {
    const ops: Array<{ op: 'put'; key: string; value: unknown }> = [];
    for (let i = from; i < Math.min(keys, from + TXN_KEYS); i++) ops.push({ op: 'put' as const, key: `doc/${i}`, value: value(i) });
    rev = (await admitted(() => client.txn(board, { compare: [], ops }))).rev;
  }
  return rev;
}

/** Writes offered at `rate`/s for `seconds`; each timed from its ack until the watermark holds it. */
async function indexLag(
  client: BlackboardClient,
  db: pg.Client,
  board: string,
  keys: number,
  rate: number,
  seconds: number,
): Promise<{ lags: number[]; offered: number }> {
  const acked: Array<{ rev: number; at: number }> = [];
  const lags: number[] = [];
  let polling = true;
  const total = rate * seconds;
  const started = performance.now();
  let deadline = started + seconds * 1_000;
  const poller = (async () => {
    while (polling || acked.length > 0) {
      const watermark = await persistedRev(db, board);
      const now = performance.now();
      while (acked.length > 0 && acked[0]!.rev <= watermark) lags.push(Math.max(0, now - acked.shift()!.at));
      await new Promise((r) => setTimeout(r, 2));
      if (!polling && performance.now() > deadline + 30_000) break;
    }
  })();
  const writes: Array<Promise<void>> = [];
  for (let n = 0; n < total; n++) {
    const due = started + (n * 1_000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const i = (n * 7919) % keys;
    writes.push(
      admitted(() => client.put(board, `doc/${i}`, value(i + keys))).then(({ rev }) => {
        // Acks may arrive out of order: keep the list sorted by revision.
        const at = performance.now();
        let k = acked.length;
        while (k > 0 && acked[k - 1]!.rev > rev) k--;
        acked.splice(k, 0, { rev, at });
      }),
    );
  }
  await Promise.all(writes);
  deadline = performance.now();
  polling = false;
  await poller;
  return { lags: lags.sort((a, b) => a - b), offered: total };
}

export async function benchSearch(ctx: BenchContext): Promise<Figure[]> {
  const keys = ctx.plan.count(100_000);
  const board = benchBoard('search');
  const client = await connectClient(ctx.url);
  const db = new pg.Client({ connectionString: ctx.serverEnv.DATABASE_URL });
  await db.connect();
  try {
    const seedStarted = performance.now();
    const rev = await seed(client, board, keys);
    // The first search waits (bounded) for the index; the loop covers a seed slower than that.
    while ((await persistedRev(db, board)) < rev) await new Promise((r) => setTimeout(r, 200));
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    // As autovacuum would soon: the planner's statistics of a table that just grew by 100,000 rows.
    await db.query('ANALYZE search_docs');
    await db.query('ANALYZE search_words');
    timeouts = 0;
    const words = Array.from({ length: QUERIES }, (_, i) => rareWord((i * 37) % Math.min(RARE_WORDS, Math.ceil(keys / 10))));

    const check = await client.search(board, words[0]!, { minRev: rev });
    if (check.items.length === 0) throw new Error(`the index does not find ${words[0]}`);
    const exact = await timed(QUERIES, (i) => client.search(board, words[i]!, { limit: 10 }));
    const phrase = await timed(QUERIES, (i) => client.search(board, `"${words[i]!} harbour"`, { limit: 10 }));
    const fuzzyCheck = await client.search(board, typo(words[1]!));
    if (!fuzzyCheck.fuzzy || fuzzyCheck.items.length === 0) throw new Error(`the fuzzy search does not find ${typo(words[1]!)}`);
    const fuzzy = await timed(QUERIES, (i) => client.search(board, typo(words[i]!), { limit: 10 }));
    const scan = await timed(SCAN_QUERIES, (i) =>
      db.query(`SELECT key FROM events WHERE board = $1 AND type = 1 AND value ILIKE $2 LIMIT 10`, [board, `%${words[i]!}%`]),
    );
    const lag = await indexLag(client, db, board, keys, 1_000, ctx.plan.quick ? 3 : 10);

    const scanP50 = percentile(scan, 50);
    const latency = (name: string, sorted: number[], goal: string): Figure[] => [
      {
        name: `${name} p50`,
        value: round(percentile(sorted, 50)),
        unit: 'ms',
        baseline: round(scanP50),
        baselineName: 'ILIKE scan p50',
        ratio: round(scanP50 / percentile(sorted, 50), 1),
        goal: '≥ 50× faster than the scan',
      },
      { name: `${name} p99`, value: round(percentile(sorted, 99)), unit: 'ms', goal },
    ];
    return [
      { name: `seed ${keys} keys of ~1 KB, until indexed`, value: round(keys / seedSeconds, 0), unit: 'keys/s' },
      ...latency('exact word', exact, '≤ 20 ms'),
      ...latency('phrase', phrase, '≤ 20 ms'),
      ...latency('fuzzy (misspelt word)', fuzzy, '≤ 50 ms'),
      { name: `ILIKE '%word%' scan of the same ${keys} values, p50`, value: round(scanP50), unit: 'ms' },
      { name: `index lag at ${lag.offered / (ctx.plan.quick ? 3 : 10)} writes/s, p50`, value: round(percentile(lag.lags, 50)), unit: 'ms' },
      { name: `index lag at ${lag.offered / (ctx.plan.quick ? 3 : 10)} writes/s, p99`, value: round(percentile(lag.lags, 99)), unit: 'ms', goal: '≤ 1000 ms' },
      { name: `searches refused with TIMEOUT (of ${3 * QUERIES})`, value: timeouts, unit: 'queries' },
    ];
  } finally {
    client.close();
    await db.end();
  }
}
