import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { MigrationPassReport } from '../../shared/protocol/types.js';
import { SCHEMA_PASSES, boardKeys } from '../board/keys.js';
import type { RedisClient } from '../board/scripts.js';
import type { PassOutcome } from './pass.js';

/**
 * Schedules and runs background migration passes. A board due for a pass sits in one
 * sorted set (scored by when); any node may run it, under a lease, so a pass survives the
 * node that started it. After a registration the board gets a second pass once every
 * node's cached rules have expired: a node that had not yet heard of the new version may
 * have written a value of the previous one meanwhile.
 */

interface PassesOptions {
  pollMs: number;
  leaseMs: number;
  /** How long after a registration the follow-up pass runs (longer than the rules' cache time). */
  followUpMs: number;
  /** Delay before a pass that stopped early or failed is tried again. */
  retryMs: number;
}

interface PassRunner {
  /** Runs a pass; `keepGoing` extends the lease and says whether to go on. */
  run(board: string, keepGoing: () => Promise<boolean>): Promise<PassOutcome>;
  /** The board's current rules as rulesSignature gives them, with the newest registration time. */
  current(board: string): Promise<{ signature: string; newestAt: number }>;
}

/** A report as kept in Redis, with the rules it was made for. */
type StoredReport = MigrationPassReport & { signature: string };

function publicReport({ signature: _signature, ...report }: StoredReport): MigrationPassReport {
  return report;
}

/** Reports are kept this long after a pass. */
const REPORT_TTL_S = 7 * 24 * 3600;
/** Boards looked at per poll. */
const DUE_BATCH = 16;

export class MigrationPasses {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly runner: PassRunner,
    private readonly nodeId: string,
    private readonly log: Logger,
    private readonly options: PassesOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.nudge(), this.options.pollMs);
    this.timer.unref();
  }

  /** Makes the board due at `at` (or earlier, if it already was). */
  async schedule(board: string, at = Date.now()): Promise<void> {
    await this.redis.zadd(SCHEMA_PASSES, 'LT', at, board);
    if (at <= Date.now()) this.nudge();
  }

  async state(board: string): Promise<{ pending: boolean; running: boolean; last?: MigrationPassReport }> {
    const keys = boardKeys(board);
    const [score, lease, report] = await Promise.all([
      this.redis.zscore(SCHEMA_PASSES, board),
      this.redis.exists(keys.schemaPass),
      this.redis.get(keys.schemaPassReport),
    ]);
    return {
      pending: score !== null,
      running: lease === 1,
      ...(report ? { last: publicReport(JSON.parse(report) as StoredReport) } : {}),
    };
  }

  nudge(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.work()
      .catch((err: unknown) => this.log.warn({ err }, 'schema migration poll failed'))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.nudge();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private async work(): Promise<void> {
    const due = await this.redis.zrangebyscore(SCHEMA_PASSES, '-inf', Date.now(), 'LIMIT', 0, DUE_BATCH);
    for (const board of due) {
      if (this.stopped) return;
      await this.runBoard(board);
    }
  }

  private async runBoard(board: string): Promise<void> {
    const { schemaPass, schemaPassReport } = boardKeys(board);
    const token = `${this.nodeId}:${randomUUID()}`;
    if ((await this.redis.set(schemaPass, token, 'PX', this.options.leaseMs, 'NX')) !== 'OK') return;
    const keepGoing = async () => {
      if (this.stopped || (await this.redis.get(schemaPass)) !== token) return false;
      await this.redis.pexpire(schemaPass, this.options.leaseMs);
      return true;
    };
    try {
      const outcome = await this.runner.run(board, keepGoing);
      if (!outcome.complete) {
        await this.redis.zadd(SCHEMA_PASSES, Date.now() + this.options.retryMs, board);
        return;
      }
      const { complete: _complete, signature, ...figures } = outcome;
      // Migrations and conflicts add up over the passes made for the same versions.
      const prior = await this.redis.get(schemaPassReport);
      const before = prior ? (JSON.parse(prior) as StoredReport) : null;
      const same = before?.signature === signature;
      const report: MigrationPassReport = {
        ...figures,
        migrated: figures.migrated + (same ? before.migrated : 0),
        conflicts: figures.conflicts + (same ? before.conflicts : 0),
        finishedAt: Date.now(),
      };
      const stored: StoredReport = { ...report, signature };
      await this.redis.set(schemaPassReport, JSON.stringify(stored), 'EX', REPORT_TTL_S);
      if (report.migrated > 0 || report.failed > 0) this.log.info({ board, ...report }, 'schema migration pass done');
      // Removed first, then compared: a registration that lands after this read re-adds the board itself.
      await this.redis.zrem(SCHEMA_PASSES, board);
      const now = await this.runner.current(board);
      if (now.signature !== signature) await this.schedule(board);
      else if (now.newestAt + this.options.followUpMs > Date.now()) await this.schedule(board, now.newestAt + this.options.followUpMs);
    } catch (err) {
      this.log.warn({ err, board }, 'schema migration pass failed; retrying later');
      await this.redis.zadd(SCHEMA_PASSES, Date.now() + this.options.retryMs, board).catch(() => undefined);
    } finally {
      // Released only if still this pass's lease.
      if ((await this.redis.get(schemaPass).catch(() => null)) === token) await this.redis.del(schemaPass).catch(() => undefined);
    }
  }
}
