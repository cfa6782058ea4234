import { randomUUID } from 'node:crypto';
import { and, desc, eq, gt, lte, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { BOARDS_INDEX, boardKeys, boardPrefix } from '../board/keys.js';
import { runScript, type RedisClient } from '../board/scripts.js';
import { REQ_ID_TTL_MS } from '../board/store.js';
import type { HistoryDb } from './db.js';
import { rebuildBoardIndex } from '../search/rebuild.js';
import type { HistoryRepo, KeyState } from './repo.js';
import { boards, events, persistRanges } from './schema/index.js';
import type { SeenRevisions } from './seen.js';
import type { Snapshotter } from './snapshotter.js';

interface RebuildOutcome {
  board: string;
  rev: number;
  epoch: string;
  /** True when acknowledged revisions were lost and the board began a new epoch. */
  newEpoch: boolean;
  keys: number;
}

const LOCK_MS = 60_000;
const PAGE = 5_000;
const CHUNK = 500;
const LOAD_PARALLEL = 8;

function rebuildLockKey(board: string): string {
  return `${boardPrefix(board)}rebuild`;
}

/**
 * Locks and presence die with Redis: their fencing records and deadlines are gone, so
 * restoring `$locks/…` or `$presence/…` would show holders no fence check would honour.
 * Holders take their locks again; live connections set their presence again.
 */
function isConnectionBound(key: string): boolean {
  return key.startsWith('$locks/') || key.startsWith('$presence/');
}

function record(k: KeyState): string {
  return `${k.version}:${k.createRev}:${k.modRev}:${k.value}`;
}

/**
 * Brings a board whose Redis state is gone back from Postgres: its key records at the
 * watermark (newest snapshot plus the events since), its revision counter and epoch.
 * If Redis had revisions Postgres never got, those acknowledged writes are lost: the
 * board starts a new epoch at the watermark, so clients know to re-snapshot.
 */
export class Rebuilder {
  constructor(
    private readonly redis: RedisClient,
    private readonly db: HistoryDb,
    private readonly repo: HistoryRepo,
    private readonly snapshotter: Snapshotter,
    private readonly seen: SeenRevisions,
    private readonly log: Logger,
    private readonly snapshotEvery: number,
  ) {}

  /** Returns null when the board has meta again (rebuilt here or elsewhere) without work here. */
  async rebuild(board: string): Promise<RebuildOutcome | null> {
    const keys = boardKeys(board);
    const lock = rebuildLockKey(board);
    const token = randomUUID();
    const claimed = await runScript(this.redis, 'rebuild-begin-5', [keys.meta, lock, keys.kv, keys.idx, keys.log], [token, LOCK_MS]);
    if (claimed === 'alive') return null;
    if (claimed !== 'claimed') {
      await this.awaitMeta(board);
      return null;
    }
    try {
      const started = performance.now();
      const decision = await this.decide(board);
      if (!decision) {
        await this.redis.del(lock);
        return null;
      }
      // A new epoch dropped the events past the watermark: the search index may hold some of them.
      if (decision.newEpoch) await rebuildBoardIndex(this.db.$client, board);
      const count = await this.load(board, token, decision.rev);
      const done = await runScript(this.redis, 'rebuild-finish-2', [keys.meta, lock], [token, decision.rev, decision.epoch, decision.epochRev]);
      if (!done.ok) throw new Error(`rebuild of ${board} could not finish (${done.failure})`);
      await this.redis.zadd(BOARDS_INDEX, 'NX', 0, board);
      this.seen.reset(board, decision.rev, decision.epoch);
      const outcome = { board, rev: decision.rev, epoch: decision.epoch, newEpoch: decision.newEpoch, keys: count };
      this.log.warn({ ...outcome, ms: Math.round(performance.now() - started) }, 'board rebuilt from Postgres');
      return outcome;
    } catch (err) {
      // Let another attempt start at once rather than after the lock expires.
      const holder = await this.redis.get(lock).catch(() => null);
      if (holder === token) await this.redis.del(lock).catch(() => undefined);
      throw err;
    }
  }

  private async awaitMeta(board: string): Promise<void> {
    const deadline = Date.now() + LOCK_MS;
    while (Date.now() < deadline) {
      if ((await this.redis.exists(boardKeys(board).meta)) === 1) return;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Decides the board's revision and epoch in Postgres, under the board row's lock. */
  private async decide(board: string): Promise<{ rev: number; epoch: string; epochRev: number; newEpoch: boolean } | null> {
    const known = this.seen.get(board);
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .select({ epoch: boards.epoch, epochRev: boards.epochRev, persistedRev: boards.persistedRev, seenRev: boards.seenRev })
        .from(boards)
        .where(eq(boards.name, board))
        .for('update');
      if (!row) return null;
      const watermark = row.persistedRev;
      const epoch = row.epoch;
      const lostHere = known !== undefined && known.rev > watermark && (known.epoch === null || known.epoch === epoch);
      const lostSeen = row.seenRev > watermark;
      // reqId records live in Redis alone: a write acknowledged within their lifetime may be
      // retried, and would apply twice, so forgetting them is a loss like any other.
      const [lastWrite] = await tx
        .select({ ts: events.ts })
        .from(events)
        .where(and(eq(events.board, board), lte(events.rev, watermark)))
        .orderBy(desc(events.rev))
        .limit(1);
      const lostReqIds = (lastWrite?.ts ?? 0) > Date.now() - REQ_ID_TTL_MS;
      if (!lostHere && !lostSeen && !lostReqIds) return { rev: watermark, epoch, epochRev: row.epochRev, newEpoch: false };
      const next = randomUUID();
      // Rows above the watermark (committed ahead of a gap) belong to the lost line of revisions.
      await tx.delete(events).where(and(eq(events.board, board), gt(events.rev, watermark)));
      await tx.delete(persistRanges).where(eq(persistRanges.board, board));
      await tx.update(boards).set({ epoch: next, epochRev: watermark, seenRev: watermark, updatedAt: sql`now()` }).where(eq(boards.name, board));
      this.log.warn(
        { board, epoch: next, watermark, seen: Math.max(known?.rev ?? 0, row.seenRev), lostReqIds },
        'acknowledged revisions or reqId records were lost with Redis; the board begins a new epoch',
      );
      return { rev: watermark, epoch: next, epochRev: watermark, newEpoch: true };
    });
  }

  /** Writes the key records at `rev` into Redis; returns how many keys the board has. */
  private async load(board: string, token: string, rev: number): Promise<number> {
    let snap = await this.repo.snapshotAt(board, rev);
    if (rev - (snap?.rev ?? 0) > this.snapshotEvery) {
      // A long tail of events: fold it into a snapshot first, once, in SQL.
      await this.snapshotter.snapshot(board, rev, true);
      snap = await this.repo.snapshotAt(board, rev);
    }
    const base = snap?.rev ?? 0;
    const changes = new Map((await this.repo.changesBetween(board, base, rev)).map((c) => [c.key, c]));
    let count = 0;
    let pending: KeyState[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown = null;
    const keys = boardKeys(board);
    const send = async (chunk: KeyState[]) => {
      const args: Array<string | number> = [token];
      for (const k of chunk) args.push(k.key, record(k));
      const loaded = await runScript(this.redis, 'rebuild-load-3', [rebuildLockKey(board), keys.kv, keys.idx], args);
      if (!loaded.ok) throw new Error(`rebuild of ${board} lost its lock`);
      count += loaded.written;
    };
    // Several chunks in flight at once: the load is bound by round trips, not by Redis.
    const flush = async () => {
      if (pending.length === 0) return;
      const chunk = pending;
      pending = [];
      const sending: Promise<void> = send(chunk)
        .catch((err: unknown) => {
          failure ??= err;
        })
        .finally(() => inFlight.delete(sending));
      inFlight.add(sending);
      if (inFlight.size >= LOAD_PARALLEL) await Promise.race(inFlight);
      if (failure) throw failure;
    };
    if (snap) {
      for (let after: string | null = null; ; ) {
        const page = await this.repo.snapshotPage(board, base, after, PAGE);
        for (const k of page) {
          if (isConnectionBound(k.key)) continue;
          const changed = changes.get(k.key);
          if (changed) {
            // Keep the creation revision the snapshot knew when the events predate history.
            if (changed.createRev === 0) changed.createRev = k.createRev;
            continue;
          }
          pending.push(k);
          if (pending.length >= CHUNK) await flush();
        }
        if (page.length < PAGE) break;
        after = page[page.length - 1]!.key;
      }
    }
    for (const c of changes.values()) {
      if (c.deleted || isConnectionBound(c.key)) continue;
      pending.push({ ...c, createRev: c.createRev || c.modRev });
      if (pending.length >= CHUNK) await flush();
    }
    await flush();
    await Promise.all(inFlight);
    if (failure) throw failure;
    return count;
  }
}
