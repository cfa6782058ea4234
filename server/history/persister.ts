import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { LoopLag } from '../admission/lag.js';
import { BOARDS_INDEX, boardKeys } from '../board/keys.js';
import type { RedisClient } from '../board/scripts.js';
import type { HistoryDb } from './db.js';
import type { PgHealth } from './pg-health.js';
import { PostgresFailure, commitBatches, type BoardBatch } from './persist-commit.js';
import { IndexMemo } from '../search/index-memo.js';
import type { SeenRevisions } from './seen.js';
import { acknowledge, ensureGroup, pruneConsumers, readBoards, type ReadTarget } from './stream-reader.js';

/** A read started while the previous round committed; the next round takes its entries. */
interface Prefetch {
  targets: ReadTarget[];
  read: ReturnType<typeof readBoards>;
}

interface PersisterOptions {
  /** Revisions read per board per round. */
  batch: number;
  /** Pause between rounds that found nothing. */
  idleMs: number;
  /** Entries unacknowledged this long are taken over from their (presumably dead) reader. */
  claimMs: number;
}

interface PersisterStats {
  batches: number;
  rowsPersisted: number;
  lastBatchRows: number;
  lastBatchRevisions: number;
  lagRevisions: number;
  lagSeconds: number;
  boards: number;
}

interface BoardCursor {
  board: string;
  /** When to read this board next; boards that keep having nothing are read less often. */
  dueAt: number;
  interval: number;
  nudged: boolean;
  ownPending: boolean;
  nextClaimAt: number;
  watermark: number;
  head: number;
  behindSince: number;
  /** Typical size of one of its stream entries, to keep a round's bytes bounded. */
  entryBytes: number;
  /** How many times `batch` the next read takes: grows while reads come back full (a backlog). */
  scale: number;
}

const DISCOVER_MS = 1_000;
const DISCOVER_LIMIT = 200_000;
/** A board with nothing new is read at least this often (a `durable` wait reads it at once). */
const MAX_INTERVAL_MS = 1_000;
const MAX_TARGETS = 256;
/** About one claim in this many also drops consumers idle for PRUNE_IDLE_MS with nothing pending. */
const PRUNE_CHANCE = 1 / 20;
const PRUNE_IDLE_MS = 10 * 60_000;
/** Event-loop lag past which the persister's rounds get smaller (shorter stretches of work between requests). */
const LAG_BUDGET_MS = 100;
const ROUND_BYTES = 2 * 1024 * 1024;
/**
 * A board whose reads keep coming back full is behind: each full read doubles the next, up
 * to this many times `batch` (and ROUND_BYTES), so catching up takes fewer, larger rounds
 * (per-round statements, fsync and round trips amortised; the search index writes each key
 * once per round, however often the round changed it).
 */
const MAX_SCALE = 8;

/**
 * Copies every board's Redis stream into Postgres. Reads as a member of one consumer
 * group (any number of nodes share the work), commits batches, acknowledges only after
 * the commit, and mirrors each board's contiguous watermark into its meta.
 */
export class Persister {
  readonly consumer: string;
  private readonly boards = new Map<string, BoardCursor>();
  private readonly lag = new LoopLag();
  private acking: Promise<void> = Promise.resolve();
  private prefetched: Prefetch | null = null;
  /** Boards whose row exists in Postgres. */
  private readonly known = new Set<string>();
  /** What the search index holds of the keys this persister indexed (a put of the same value again writes nothing). */
  private readonly indexMemo = new IndexMemo();
  private nextDiscoverAt = 0;
  private stopped = false;
  private running: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly counters = { batches: 0, rowsPersisted: 0, lastBatchRows: 0, lastBatchRevisions: 0 };

  constructor(
    private readonly redis: RedisClient,
    private readonly db: HistoryDb,
    private readonly health: PgHealth,
    private readonly seen: SeenRevisions,
    private readonly log: Logger,
    private readonly options: PersisterOptions,
    nodeId: string,
    /** Called after each commit with a board's watermark in Postgres. */
    private readonly onWatermark: (board: string, epoch: string, watermark: number) => void,
  ) {
    this.consumer = `${nodeId}:${randomUUID().slice(0, 8)}`;
  }

  start(): void {
    if (this.running) return;
    this.lag.start();
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.lag.stop();
    this.stopped = true;
    this.wake?.();
    await this.running;
    await this.dropPrefetch();
    await this.acking;
  }

  /** Someone waits for this board: read it in the next round. */
  nudge(board: string): void {
    const cursor = this.cursor(board);
    cursor.nudged = true;
    cursor.dueAt = 0;
    this.wake?.();
  }

  stats(): PersisterStats {
    const now = Date.now();
    let lagRevisions = 0;
    let behindSince = now;
    for (const c of this.boards.values()) {
      if (c.head > c.watermark) lagRevisions += c.head - c.watermark;
      if (c.behindSince > 0 && c.behindSince < behindSince) behindSince = c.behindSince;
    }
    return { ...this.counters, lagRevisions, lagSeconds: (now - behindSince) / 1000, boards: this.boards.size };
  }

  private cursor(board: string): BoardCursor {
    let cursor = this.boards.get(board);
    if (!cursor) {
      cursor = {
        board,
        dueAt: Date.now() + Math.random() * MAX_INTERVAL_MS,
        interval: MAX_INTERVAL_MS,
        nudged: false,
        ownPending: false,
        nextClaimAt: 0,
        watermark: 0,
        head: 0,
        behindSince: 0,
        entryBytes: 256,
        scale: 1,
      };
      this.boards.set(board, cursor);
    }
    return cursor;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    // On stop, entries already read ahead are committed first (while Postgres is there).
    while (!this.stopped || (this.prefetched !== null && this.health.up && failures === 0)) {
      let busy = false;
      try {
        if (Date.now() >= this.nextDiscoverAt) await this.discover();
        if (this.health.up) busy = await this.round();
        else await this.headsOnly();
        failures = 0;
      } catch (err) {
        failures++;
        if (err instanceof PostgresFailure && err.unreachable) this.log.debug({ err: err.cause }, 'persister: postgres unavailable');
        else if (failures <= 3 || failures % 100 === 0) this.log.warn({ err }, 'persister round failed; retrying');
        await this.sleep(Math.min(2_000, 50 * 2 ** Math.min(failures, 6)));
        continue;
      }
      if (!busy) await this.sleep(this.health.up ? this.options.idleMs : 250);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  /** Boards come and go in the boards index; new ones join the rotation. */
  private async discover(): Promise<void> {
    this.nextDiscoverAt = Date.now() + DISCOVER_MS;
    for (let offset = 0; offset < DISCOVER_LIMIT; offset += 5_000) {
      const names = await this.redis.zrangebylex(BOARDS_INDEX, '-', '+', 'LIMIT', offset, 5_000);
      for (const name of names) this.cursor(name);
      if (names.length < 5_000) break;
    }
  }

  /**
   * The boards to read next. `ahead`: for a read while a round commits, only boards due for
   * new entries (their own pending ones and claims wait until the round is over).
   */
  private pickTargets(ahead = false): ReadTarget[] {
    const now = Date.now();
    const due: BoardCursor[] = [];
    for (const c of this.boards.values()) {
      if (ahead && (c.ownPending || now >= c.nextClaimAt)) continue;
      if (c.nudged || c.ownPending || c.dueAt <= now) due.push(c);
    }
    due.sort((a, b) => Number(b.nudged) - Number(a.nudged) || a.dueAt - b.dueAt);
    // While requests are waiting on the event loop, rounds get smaller.
    const budget = this.lag.lagMs > LAG_BUDGET_MS ? ROUND_BYTES / 4 : ROUND_BYTES;
    // Boards that are behind fill a round's bytes; the rest wait for the next (read while this
    // one commits), so one round neither stalls the node nor leaves Postgres idle while it reads.
    let expected = 0;
    const picked: BoardCursor[] = [];
    for (const c of due) {
      if (picked.length >= MAX_TARGETS || (picked.length > 0 && expected >= budget)) break;
      picked.push(c);
      expected += Math.max(1, Math.min(this.options.batch * c.scale, c.head - c.watermark)) * c.entryBytes;
    }
    return picked.map((c) => {
      // A nudge that comes while this read is under way asks for another.
      c.nudged = false;
      let mode: ReadTarget['mode'] = 'new';
      if (c.ownPending) mode = 'own-pending';
      else if (now >= c.nextClaimAt) {
        mode = 'claim';
        c.nextClaimAt = now + this.options.claimMs;
        if (Math.random() < PRUNE_CHANCE) {
          pruneConsumers(this.redis, c.board, PRUNE_IDLE_MS).catch((err: unknown) => this.log.debug({ err }, 'prune failed'));
        }
      }
      // Big values make big rounds: bound the bytes so one round never stalls the node.
      const count = Math.max(1, Math.min(this.options.batch * c.scale, Math.floor(budget / c.entryBytes)));
      return { board: c.board, mode, count };
    });
  }

  /**
   * Reads a board again at once when the read left more behind; after `idleMs` when it took
   * what there was (the next round then carries more rows for its statements and fsync, and a
   * write waiting for Postgres nudges the board meanwhile); less and less often while it has none.
   */
  private reschedule(c: BoardCursor, hadWork: boolean, more = hadWork): void {
    if (more) c.interval = 0;
    else if (hadWork) c.interval = this.options.idleMs;
    else c.interval = Math.min(MAX_INTERVAL_MS, Math.max(this.options.idleMs, c.interval * 2));
    c.dueAt = Date.now() + c.interval;
  }

  /** One read–commit–acknowledge round; true when it found work (so the next starts at once). */
  private async round(): Promise<boolean> {
    let targets: ReadTarget[];
    let reading: Prefetch['read'];
    if (this.prefetched) {
      ({ targets, read: reading } = this.prefetched);
      this.prefetched = null;
    } else {
      targets = this.pickTargets();
      if (targets.length === 0) return false;
      reading = readBoards(this.redis, this.consumer, targets, this.options.claimMs);
    }
    const { results, goneIds } = await reading;
    const batches: BoardBatch[] = [];
    for (const [i, result] of results.entries()) {
      const target = targets[i]!;
      const c = this.cursor(target.board);
      if (result.head) this.observeHead(c, result.head.rev, result.head.epoch, result.head.pw);
      if (result.noGroup) {
        this.reschedule(c, await ensureGroup(this.redis, target.board));
        continue;
      }
      if (target.mode === 'own-pending' && result.batch.entries.length === 0) c.ownPending = false;
      // A claim finding nothing says nothing about new entries: read those next.
      const read = result.batch.entries.length;
      if (target.mode === 'new') c.scale = read >= target.count ? Math.min(MAX_SCALE, c.scale * 2) : 1;
      this.reschedule(c, read > 0 || target.mode !== 'new', read >= target.count || target.mode !== 'new');
      if (result.batch.entries.length === 0) continue;
      let bytes = 0;
      for (const entry of result.batch.entries) bytes += entry.message.length;
      c.entryBytes = Math.max(64, Math.round(0.5 * c.entryBytes + (0.5 * bytes) / result.batch.entries.length));
      const last = result.batch.entries[result.batch.entries.length - 1]!;
      this.seen.note(target.board, last.rev, last.epoch);
      batches.push(result.batch);
    }
    const gone = [...goneIds].map(([board, ids]) => ({ board, ids, epoch: null, watermark: null }));
    if (batches.length === 0) {
      if (gone.length > 0) await acknowledge(this.redis, gone);
      return gone.length > 0;
    }
    // Redis and this process read and parse the next round while Postgres takes this one.
    this.readAhead();
    let committed;
    try {
      committed = await commitBatches(this.db, batches, this.known, this.indexMemo);
      this.health.noteSuccess();
    } catch (err) {
      await this.dropPrefetch();
      for (const b of batches) this.cursor(b.board).ownPending = true;
      throw new PostgresFailure(err, this.health.noteError(err));
    }
    const acks = committed.reports.map((r) => ({ board: r.board, ids: r.ackIds, epoch: r.epoch, watermark: r.watermark }));
    // The commit is what makes events durable; acknowledging overlaps the next round
    // (one at a time). An acknowledgement that fails leaves entries pending: they are
    // claimed again later and their rows are already there.
    await this.acking;
    this.acking = acknowledge(this.redis, [...acks, ...gone]).catch((err: unknown) => {
      this.log.warn({ err }, 'acknowledging persisted entries failed; they will be claimed again');
    });
    let revisions = 0;
    for (const b of batches) revisions += b.entries.length;
    this.counters.batches++;
    this.counters.rowsPersisted += committed.inserted;
    this.counters.lastBatchRows = committed.inserted;
    this.counters.lastBatchRevisions = revisions;
    for (const report of committed.reports) {
      if (this.known.size > 100_000) this.known.clear();
      this.known.add(report.board);
      const c = this.cursor(report.board);
      if (report.epochMismatch) {
        this.log.warn({ board: report.board, epoch: report.epoch }, 'board epoch in Redis differs from Postgres; waiting');
      }
      c.watermark = Math.max(c.watermark, report.watermark);
      if (c.head <= c.watermark) c.behindSince = 0;
      this.onWatermark(report.board, report.epoch, report.watermark);
    }
    return true;
  }

  private readAhead(): void {
    if (this.stopped || this.prefetched) return;
    const targets = this.pickTargets(true);
    if (targets.length === 0) return;
    const read = readBoards(this.redis, this.consumer, targets, this.options.claimMs);
    // Its failure is the next round's (or nobody's, if the read is dropped).
    read.catch(() => undefined);
    this.prefetched = { targets, read };
  }

  /**
   * Forgets a read ahead: its entries are pending for this consumer, so its boards read
   * their own pending entries next (from the start, after those of a round that failed).
   */
  private async dropPrefetch(): Promise<void> {
    const ahead = this.prefetched;
    if (!ahead) return;
    this.prefetched = null;
    await ahead.read.catch(() => undefined);
    for (const t of ahead.targets) this.cursor(t.board).ownPending = true;
  }

  private observeHead(c: BoardCursor, rev: number, epoch: string, pw: number | null): void {
    this.seen.note(c.board, rev, epoch);
    c.head = rev;
    if (pw !== null) c.watermark = pw;
    if (rev > c.watermark) {
      if (c.behindSince === 0) c.behindSince = Date.now();
    } else c.behindSince = 0;
  }

  /** While Postgres is away, keep learning how far each board went (loss detection needs it). */
  private async headsOnly(): Promise<void> {
    const boards = [...this.boards.keys()].slice(0, 10_000);
    const replies = await Promise.all(boards.map((board) => this.redis.hmget(boardKeys(board).meta, 'rev', 'epoch', 'pw')));
    boards.forEach((board, i) => {
      const [rev, epoch, pw] = replies[i] ?? [];
      if (epoch) this.observeHead(this.cursor(board), Number(rev ?? 0), epoch, pw == null ? null : Number(pw));
    });
  }
}
