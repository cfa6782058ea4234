import { CompareFailed, type BoardStore } from '../server/board/store.js';
import { applyJsonPatch, PatchBudget } from '../server/board/patch.js';
import { loadConfig } from '../server/config.js';
import type { BlackboardClient } from '../client/sdk/index.js';
import { benchBoard } from './boards.js';
import { admitted, connectClient, type BenchContext } from './context.js';
import { percentile, round, type Figure } from './stats.js';

/**
 * Many writers on one key. Compare-and-set: N clients `update()` one counter. Appends:
 * N clients `patch` one list (the server applies each patch to the latest value, retrying
 * internally). Baselines: the same loops run straight on the commit script through ioredis.
 * Both sides check the end state, so a lost update shows as a wrong count, not a fast one.
 */

const WRITERS = 16;

interface LoopResult {
  done: number;
  seconds: number;
  latencies: number[];
  retries: number;
  final: number;
}

/** Runs `writers` loops until `total` operations have committed. */
async function runLoops(total: number, writers: number, op: (w: number) => Promise<number>): Promise<Omit<LoopResult, 'final'>> {
  let started = 0;
  let retries = 0;
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      while (started < total) {
        started++;
        const s = performance.now();
        retries += await op(w);
        latencies.push(performance.now() - s);
      }
    }),
  );
  return { done: latencies.length, seconds: (performance.now() - t0) / 1000, latencies: latencies.sort((a, b) => a - b), retries };
}

/** The update() loop of the SDK, on the raw script: read, compute, commit with a version compare, back off the same way. */
async function rawCas(
  store: BoardStore,
  board: string,
  key: string,
  next: (valueText: string | null) => string,
  how: { patchText?: string; backoffAfter: number; backoffCapMs: number },
): Promise<number> {
  let record = (await store.read(board, key)).record;
  const kind = how.patchText === undefined ? 'put' : 'patch';
  for (let attempt = 1; ; attempt++) {
    try {
      await store.commit({
        board,
        actorJson: '"bench"',
        shape: kind,
        compares: [{ key, version: record?.version ?? 0 }],
        ops: [{ kind, key, valueText: next(record?.valueText ?? null), ...(how.patchText === undefined ? {} : { patchText: how.patchText }) }],
      });
      return attempt - 1;
    } catch (err) {
      if (!(err instanceof CompareFailed)) throw err;
      record = err.failed[0]?.record ?? null;
      if (attempt > how.backoffAfter) await new Promise((r) => setTimeout(r, Math.random() * Math.min(how.backoffCapMs, attempt * 2)));
    }
  }
}

function figuresFor(label: string, unit: string, measured: LoopResult, raw: LoopResult, total: number): Figure[] {
  const rate = measured.done / measured.seconds;
  const baseRate = raw.done / raw.seconds;
  const p99 = percentile(measured.latencies, 99);
  const bp99 = percentile(raw.latencies, 99);
  const baselineName = 'the same loop on the raw commit script';
  const figures: Figure[] = [
    {
      name: `${label} (${WRITERS} writers, one key)`,
      value: round(rate, 0),
      unit,
      baseline: round(baseRate, 0),
      baselineName,
      ratio: round(rate / baseRate, 3),
    },
    { name: `${label} p99 latency`, value: round(p99, 3), unit: 'ms', baseline: round(bp99, 3), baselineName, ratio: round(bp99 / p99, 3) },
    {
      name: `${label}: retries per committed write`,
      value: round(measured.retries / measured.done, 3),
      unit: '',
      baseline: round(raw.retries / raw.done, 3),
      baselineName,
    },
  ];
  if (measured.final !== total || raw.final !== total) {
    figures.push({ name: `${label}: LOST UPDATES (end count, expected ${total})`, value: measured.final, unit: '', baseline: raw.final, baselineName });
  }
  return figures;
}

export async function benchHotKey(ctx: BenchContext): Promise<Figure[]> {
  const total = ctx.plan.count(3_000);
  const clients = await Promise.all(Array.from({ length: WRITERS }, () => connectClient(ctx.url)));
  try {
    const rawBoard = benchBoard('cas-raw');
    await ctx.store.createBoard(rawBoard);
    const increment = (text: string | null) => String((text === null ? 0 : Number(text)) + 1);
    const raw = await runLoops(total, WRITERS, () => rawCas(ctx.store, rawBoard, 'counter', increment, { backoffAfter: 3, backoffCapMs: 100 }));
    const rawFinal = Number((await ctx.store.read(rawBoard, 'counter')).record?.valueText ?? 0);

    const board = benchBoard('cas');
    const measured = await runLoops(total, WRITERS, async (w) => {
      let calls = 0;
      await admitted(() =>
        clients[w]!.update<number>(board, 'counter', (v) => {
          calls++;
          return (v ?? 0) + 1;
        }),
      );
      return calls - 1;
    });
    const final = (await clients[0]!.value<number>(board, 'counter')) ?? 0;
    return figuresFor('compare-and-set increments', 'commits/s', { ...measured, final }, { ...raw, final: rawFinal }, total);
  } finally {
    for (const c of clients) c.close();
  }
}

export async function benchAppends(ctx: BenchContext): Promise<Figure[]> {
  const total = ctx.plan.count(1_000);
  const clients: BlackboardClient[] = await Promise.all(Array.from({ length: WRITERS }, () => connectClient(ctx.url)));
  try {
    const rawBoard = benchBoard('app-raw');
    await ctx.store.createBoard(rawBoard);
    const empty = JSON.stringify({ items: [] });
    await ctx.store.commit({ board: rawBoard, actorJson: '"bench"', shape: 'put', compares: [], ops: [{ kind: 'put', key: 'list', valueText: empty }] });
    let n = 0;
    const raw = await runLoops(total, WRITERS, () => {
      const patch = [{ op: 'add' as const, path: '/items/-', value: { a: n++ } }];
      // The server's patch path: apply in Node to the value just read, commit it with a version compare.
      const next = (text: string | null) => applyJsonPatch(text ?? empty, patch, false, new PatchBudget(loadConfig({}).MAX_VALUE_BYTES));
      return rawCas(ctx.store, rawBoard, 'list', next, { patchText: JSON.stringify(patch), backoffAfter: 2, backoffCapMs: 50 });
    });
    const rawList = JSON.parse((await ctx.store.read(rawBoard, 'list')).record?.valueText ?? empty) as { items: unknown[] };

    const board = benchBoard('app');
    await admitted(() => clients[0]!.put(board, 'list', { items: [] }));
    let m = 0;
    const measured = await runLoops(total, WRITERS, async (w) => {
      const item = { a: m++ };
      await admitted(() => clients[w]!.patch(board, 'list', [{ op: 'add', path: '/items/-', value: item }]));
      return 0;
    });
    const list = (await clients[0]!.value<{ items: unknown[] }>(board, 'list')) ?? { items: [] };
    const figures = figuresFor(
      'patch appends to one list',
      'appends/s',
      { ...measured, final: list.items.length },
      { ...raw, final: rawList.items.length },
      total,
    );
    // The server retries inside; the client sees none, so that row says nothing about the server side.
    return figures.filter((f) => !f.name.includes('retries'));
  } finally {
    for (const c of clients) c.close();
  }
}
