import { BOARDS_INDEX, boardKeys } from '../board/keys.js';
import type { Services } from '../services.js';
import type { GaugeSample } from './registry.js';
import { taskCounter } from './task-metrics.js';

/** Boards whose Redis reads run at once during a count. */
const BATCH = 100;
/** A node nobody scrapes stops counting after this many refresh intervals. */
const IDLE_INTERVALS = 10;

interface FigureSettings {
  refreshMs: number;
  maxBoards: number;
}

/**
 * Figures that need a walk over boards (locks held, tasks by state), counted in the
 * background on a bounded set of boards (the first `maxBoards` of the boards index) at
 * most once per `refreshMs`, and only while someone scrapes this node. A scrape reads the
 * last count and never walks a board itself, so scraping costs the same however many
 * boards there are or however many scrapers ask.
 */
export class BoardFigures {
  private locks: number | undefined;
  private tasks: GaugeSample | undefined;
  private countedAt = 0;
  private lastScrapeAt = 0;
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly countTasks: (boards: readonly string[]) => Promise<GaugeSample>;

  constructor(
    private readonly services: Services,
    private readonly settings: FigureSettings,
  ) {
    this.countTasks = taskCounter(services);
  }

  start(): void {
    if (this.settings.maxBoards === 0) return;
    this.timer = setInterval(() => {
      if (Date.now() - this.lastScrapeAt <= IDLE_INTERVALS * this.settings.refreshMs) this.refresh();
    }, this.settings.refreshMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** A scrape: returns at once; the first one starts the counting. */
  scraped(): void {
    this.lastScrapeAt = Date.now();
    if (this.countedAt === 0) this.refresh();
  }

  get locksHeld(): number | undefined {
    return this.locks;
  }

  get tasksByState(): GaugeSample | undefined {
    return this.tasks;
  }

  /** Seconds since the last count finished (undefined before the first). */
  get ageSeconds(): number | undefined {
    return this.countedAt === 0 ? undefined : (Date.now() - this.countedAt) / 1000;
  }

  /** Starts a count unless one is running. */
  refresh(): Promise<void> {
    this.running ??= this.count()
      .catch((err: unknown) => this.services.log.warn({ err }, 'counting board figures for /metrics failed'))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async count(): Promise<void> {
    const { redis } = this.services;
    const boards = await redis.zrangebylex(BOARDS_INDEX, '-', '+', 'LIMIT', 0, this.settings.maxBoards);
    const now = Date.now();
    let held = 0;
    // Separate commands, not one pipeline: on a Redis Cluster each board may be on another node.
    for (let i = 0; i < boards.length; i += BATCH) {
      const tables = await Promise.all(boards.slice(i, i + BATCH).map((board) => redis.hvals(boardKeys(board).locks)));
      // Record format "<token>:<expiresAtMs>:<holder>"; expired ones wait for the sweep.
      for (const records of tables) for (const record of records) if (Number(record.split(':', 2)[1]) > now) held++;
    }
    this.tasks = await this.countTasks(boards);
    this.locks = held;
    this.countedAt = Date.now();
  }
}
