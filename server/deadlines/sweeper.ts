import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { DEADLINE_BOARDS, boardKeys } from '../board/keys.js';
import { runScript } from '../board/scripts.js';
import type { Services } from '../services.js';
import { defineSweepScripts, runBoardScript } from './scripts.js';

interface SweeperOptions {
  /** How often each node looks for boards with something due. */
  intervalMs: number;
  /** Keys one script call deletes at most. */
  batch?: number;
  /** Boards one pass visits at most. */
  boardsPerPass?: number;
}

/** How often each node looks for expired locks and presence, unless its first user says otherwise. */
const DEFAULT_SWEEP_INTERVAL_MS = 250;
const DEFAULT_BATCH = 200;
const DEFAULT_BOARDS_PER_PASS = 500;
const CONCURRENT_BOARDS = 8;
const ROUNDS_PER_BOARD = 20;

/**
 * Expiry of `$locks/...` and `$presence/...` keys. Redis expiring a key makes no event,
 * so each board keeps a zset of deadlines, and every node sweeps the boards that have
 * something due through the write path. Which boards to look at is a global zset scored
 * by a time no later than each board's earliest deadline.
 *
 * That global entry is in another hash slot than the board, so it cannot change in the
 * same script: registrations add the board's deadline first, then lower the global score
 * (ZADD LT); a sweeper moves the global score only if nobody changed it since it read it,
 * then looks at the board's deadlines again. Of two such opposite sequences one always
 * sees the other, so a deadline is never left without a global entry at or before it.
 * A lock's deadline that is not the board's earliest when its script adds it needs no
 * registration: the global entry is only ever raised to a sweep's view of the board's
 * earliest deadline, which includes it, so the earlier deadline's entry covers it.
 */
export class DeadlineSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private pending: { scores: Map<string, number>; done: Promise<void> } | null = null;
  private readonly batch: number;
  private readonly boardsPerPass: number;

  constructor(
    private readonly services: Services,
    private readonly options: SweeperOptions,
  ) {
    this.batch = options.batch ?? DEFAULT_BATCH;
    this.boardsPerPass = options.boardsPerPass ?? DEFAULT_BOARDS_PER_PASS;
  }

  /**
   * Called after a script gave a key on `board` the deadline `at` (ms, Redis time); resolves
   * once the global index covers it. Registrations made in the same turn of the event loop
   * go out as one `ZADD LT` (the earliest per board).
   */
  register(board: string, at: number): Promise<void> {
    let batch = this.pending;
    if (!batch) {
      const scores = new Map<string, number>();
      const done = new Promise<void>((resolve, reject) => {
        setImmediate(() => {
          this.pending = null;
          const args: string[] = [];
          for (const [b, score] of scores) args.push(String(score), b);
          this.services.redis.zadd(DEADLINE_BOARDS, 'LT', ...args).then(() => resolve(), reject);
        });
      });
      batch = this.pending = { scores, done };
    }
    const known = batch.scores.get(board);
    if (known === undefined || at < known) batch.scores.set(board, at);
    return batch.done;
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    // Jitter keeps the nodes from sweeping in lockstep.
    const delay = this.options.intervalMs * (0.75 + Math.random() / 2);
    this.timer = setTimeout(() => {
      this.running = this.pass()
        .then(() => undefined)
        .catch((err: unknown) => this.services.log.warn({ err }, 'expiry sweep failed'))
        .finally(() => {
          this.running = null;
          this.schedule();
        });
    }, delay);
    this.timer.unref();
  }

  /** Sweeps every board whose global entry is due. */
  async pass(): Promise<number> {
    const { redis } = this.services;
    const [seconds, micros] = await redis.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const due = await redis.zrangebyscore(DEADLINE_BOARDS, '-inf', now, 'WITHSCORES', 'LIMIT', 0, this.boardsPerPass);
    const boards: Array<[string, string]> = [];
    for (let i = 0; i + 1 < due.length; i += 2) boards.push([due[i]!, due[i + 1]!]);
    let deleted = 0;
    for (let i = 0; i < boards.length && !this.stopped; i += CONCURRENT_BOARDS) {
      const counts = await Promise.all(
        boards.slice(i, i + CONCURRENT_BOARDS).map(([board, seen]) =>
          this.sweepBoard(board, seen).catch((err: unknown) => {
            this.services.log.warn({ err, board }, 'sweeping a board failed');
            return 0;
          }),
        ),
      );
      for (const n of counts) deleted += n;
    }
    return deleted;
  }

  /**
   * Deletes what expired on one board. With `seen` (the global score the caller read),
   * also moves the board's global entry to its next deadline.
   */
  async sweepBoard(board: string, seen?: string): Promise<number> {
    const { deleted, next } = await this.sweepOnly(board);
    if (seen !== undefined) await this.reschedule(board, seen, next);
    return deleted;
  }

  /** Deletes what expired on one board; `next` is its earliest remaining deadline, or '-1'. */
  async sweepOnly(board: string): Promise<{ deleted: number; next: string }> {
    let deleted = 0;
    let next = '-1';
    for (let round = 0; round < ROUNDS_PER_BOARD; round++) {
      const swept = await runBoardScript(this.services, 'sweep-expired-8', board, [], [this.batch]);
      if (!swept.ok) {
        // No meta even after materializing: only stale deadlines can be left; keep the entry.
        if ((await this.services.redis.zcard(boardKeys(board).deadlines)) > 0) {
          throw new BlackboardError(ErrorCode.UNAVAILABLE, `board ${board} has deadlines but no state`);
        }
        break;
      }
      deleted += swept.deleted;
      next = swept.next;
      if (!swept.more) break;
    }
    return { deleted, next };
  }

  /**
   * Moves the board's global entry from `seen` to `next` unless it changed meanwhile, then
   * covers any deadline the board gained after the sweep read it.
   */
  async reschedule(board: string, seen: string, next: string): Promise<void> {
    const { redis } = this.services;
    if (!(await runScript(redis, 'sweep-reschedule-1', [DEADLINE_BOARDS], [board, seen, next]))) return;
    // A deadline added after the sweep read the board must still be covered.
    const first = await redis.zrange(boardKeys(board).deadlines, 0, '0', 'WITHSCORES');
    if (first[1] !== undefined) await redis.zadd(DEADLINE_BOARDS, 'LT', first[1], board);
  }
}

/** The node's one sweeper and how many capabilities use it. */
const shared = new WeakMap<Services, { sweeper: DeadlineSweeper; users: number }>();

/**
 * The node's deadline sweeper, shared by every capability that writes keys with deadlines
 * (locks, presence): the first to join defines the sweep scripts and starts it (at its
 * interval, 250 ms unless given), the last to leave stops it.
 */
export function joinSweeper(services: Services, intervalMs = DEFAULT_SWEEP_INTERVAL_MS): DeadlineSweeper {
  let entry = shared.get(services);
  if (!entry) {
    defineSweepScripts(services.redis);
    entry = { sweeper: new DeadlineSweeper(services, { intervalMs }), users: 0 };
    shared.set(services, entry);
    entry.sweeper.start();
  }
  entry.users++;
  return entry.sweeper;
}

/** Leaves the node's sweeper; the last user's leaving stops it. */
export async function leaveSweeper(services: Services): Promise<void> {
  const entry = shared.get(services);
  if (!entry || --entry.users > 0) return;
  shared.delete(services);
  await entry.sweeper.stop();
}
