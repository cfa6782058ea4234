import type pg from 'pg';
import type { Logger } from 'pino';
import { isConnectionError } from './db.js';

/**
 * Whether Postgres answers. Failed statements mark it down; a ping every interval notices
 * an outage on an idle node and brings it back, so work that needs it can wait instead of hammering it.
 */
export class PgHealth {
  up = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners: Array<() => void> = [];

  constructor(
    private readonly pool: pg.Pool,
    private readonly log: Logger,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.probe(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Runs when Postgres comes back. */
  onUp(fn: () => void): void {
    this.listeners.push(fn);
  }

  noteSuccess(): void {
    if (this.up) return;
    this.up = true;
    this.log.info('postgres reachable');
    for (const fn of this.listeners) fn();
  }

  /** Returns true when the error means Postgres is unreachable (and marks it down). */
  noteError(err: unknown): boolean {
    if (!isConnectionError(err)) return false;
    if (this.up) this.log.warn({ err: (err as Error).message }, 'postgres unreachable; history is buffering in Redis');
    this.up = false;
    return true;
  }

  private probing = false;

  async probe(): Promise<boolean> {
    if (this.probing) return this.up;
    this.probing = true;
    try {
      await this.pool.query('SELECT 1');
      this.noteSuccess();
    } catch (err) {
      this.noteError(err);
    } finally {
      this.probing = false;
    }
    return this.up;
  }
}
