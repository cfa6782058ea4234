import type { WireResult } from '../../shared/protocol/envelope.js';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { RawJson } from '../../shared/protocol/json.js';
import type { HistoryService, Services } from '../services.js';
import { encodeEvent } from '../board/event-codec.js';
import type { PgHealth } from './pg-health.js';
import type { Persister } from './persister.js';
import type { HistoryRepo, KeyState } from './repo.js';
import { EventPage } from '../board/event-page.js';
import type { PersistWaiters } from './waiters.js';

/** Revisions per Postgres read of events (each at most MAX_REVISION_BYTES; most far smaller). */
const PG_REVISIONS_PER_READ = 16;
/** Events of one key per Postgres read. */
const PG_KEY_ROWS_PER_READ = 64;

function toItem(k: KeyState) {
  return { key: k.key, value: new RawJson(k.value), version: k.version, createRev: k.createRev, modRev: k.modRev };
}

/**
 * Past state and the change log, served from Postgres. Reads above the watermark wait
 * for the persister; with Redis down, what Postgres holds is still served, marked
 * `degraded`.
 */
export class PostgresHistory implements HistoryService {
  constructor(
    private readonly services: Services,
    private readonly repo: HistoryRepo,
    private readonly health: PgHealth,
    private readonly waiters: PersistWaiters,
    private readonly persister: Persister,
  ) {}

  awaitPersisted(board: string, rev: number, timeoutMs = this.services.config.DURABLE_TIMEOUT_MS): Promise<void> {
    return this.waiters.wait(board, rev, timeoutMs);
  }

  stats(): Record<string, number> {
    return { ...this.persister.stats(), postgresUp: this.health.up ? 1 : 0 };
  }

  async getAt(board: string, key: string, atRev: number): Promise<WireResult<'get'>> {
    const degraded = await this.settle(board, atRev);
    const state = await this.pg(() => this.repo.keyAt(board, key, atRev));
    if (!state) throw new BlackboardError(ErrorCode.NOT_FOUND, `key ${key} did not exist at revision ${atRev}`, { key });
    return { ...toItem(state), rev: atRev, ...(degraded ? { degraded: true as const } : {}) };
  }

  async listAt(board: string, prefix: string, atRev: number, limit: number, after: string | undefined): Promise<WireResult<'list'>> {
    const degraded = await this.settle(board, atRev);
    // In batches, so that a page cut by size reads little more than it returns.
    const items: ReturnType<typeof toItem>[] = [];
    let bytes = 0;
    let cursor = after;
    let more = false;
    for (;;) {
      const want = Math.min(PG_KEY_ROWS_PER_READ, limit - items.length) + 1;
      const keys = await this.pg(() => this.repo.keysAt(board, prefix, atRev, want, cursor));
      for (const k of keys.slice(0, want - 1)) {
        if (items.length > 0 && bytes >= this.services.config.MAX_REPLY_BYTES) return this.page(items, atRev, true, degraded);
        items.push(toItem(k));
        bytes += k.key.length + k.value.length;
      }
      more = keys.length === want;
      if (!more || items.length >= limit) break;
      cursor = items.at(-1)!.key;
    }
    return this.page(items, atRev, more, degraded);
  }

  private page(items: ReturnType<typeof toItem>[], rev: number, more: boolean, degraded: boolean): WireResult<'list'> {
    return { items, rev, more, ...(degraded ? { degraded: true as const } : {}) };
  }

  async events(
    board: string,
    range: { key?: string | undefined; fromRev?: number | undefined; toRev?: number | undefined },
    limit: number,
  ): Promise<WireResult<'history'>> {
    const fromRev = Math.max(1, range.fromRev ?? 1);
    const toRev = range.toRev ?? Number.MAX_SAFE_INTEGER;
    const page = new EventPage(limit, this.services.config.MAX_REPLY_BYTES);
    if (!this.redisUp()) {
      const info = await this.pg(() => this.repo.board(board));
      const more = await this.fromPostgres(board, range.key, fromRev, Math.min(toRev, info?.persistedRev ?? 0), page);
      return { events: page.events, more, degraded: true as const };
    }
    if (range.key !== undefined) {
      // One key: its index range in Postgres first, then the stream above the watermark.
      const info = await this.pg(() => this.repo.board(board));
      const watermark = info?.persistedRev ?? 0;
      if (await this.fromPostgres(board, range.key, fromRev, Math.min(toRev, watermark), page)) return { events: page.events, more: true };
      if (toRev <= watermark) return { events: page.events, more: false };
      return this.walk(board, range.key, Math.max(fromRev, watermark + 1), toRev, page);
    }
    return this.walk(board, undefined, fromRev, toRev, page);
  }

  /**
   * Events fromRev..toRev from Postgres into `page`, a little at a time, so that a reply cut
   * by size never fetches much more than it sends; true when the page filled. One key has
   * at most one event per revision: its rows are read in batches through the key's index.
   */
  private async fromPostgres(board: string, key: string | undefined, fromRev: number, toRev: number, page: EventPage): Promise<boolean> {
    for (let from = fromRev; from <= toRev; ) {
      const upTo = key === undefined ? Math.min(toRev, from + PG_REVISIONS_PER_READ - 1) : toRev;
      const records = await this.pg(() => this.repo.eventRange(board, key, from, upTo, key === undefined ? Number.MAX_SAFE_INTEGER : PG_KEY_ROWS_PER_READ));
      for (const r of records) if (!page.add(r.rev, encodeEvent(r))) return true;
      if (key !== undefined && records.length < PG_KEY_ROWS_PER_READ) return false;
      from = key === undefined ? upTo + 1 : records.at(-1)!.rev + 1;
    }
    return false;
  }

  private async walk(board: string, key: string | undefined, fromRev: number, toRev: number, page: EventPage): Promise<WireResult<'history'>> {
    let more = false;
    await this.pg(() =>
      this.services.replay.replay(board, fromRev, (revisions) => {
        for (const revision of revisions) {
          if (revision.rev > toRev) return false;
          for (const entry of revision.entries) {
            if (key !== undefined && entry.key !== key) continue;
            if (!page.add(revision.rev, entry.eventJson)) {
              more = true;
              return false;
            }
          }
        }
        return true;
      }),
    );
    return { events: page.events, more };
  }

  /**
   * Makes sure Postgres holds revision `atRev`: waits for the persister when it is
   * committed in Redis but not yet persisted. Returns true when Redis is down (the
   * answer then comes from Postgres alone).
   */
  private async settle(board: string, atRev: number): Promise<boolean> {
    let degraded = !this.redisUp();
    if (!degraded) {
      try {
        const state = await this.services.store.boardState(board);
        if (state) {
          if (atRev > state.rev) {
            throw new BlackboardError(ErrorCode.BAD_REQUEST, `revision ${atRev} is in the future (board is at ${state.rev})`, {
              rev: state.rev,
            });
          }
          await this.waiters.wait(board, atRev, this.services.config.DURABLE_TIMEOUT_MS);
          return false;
        }
      } catch (err) {
        if (err instanceof BlackboardError || this.redisUp()) throw err;
        degraded = true;
      }
    }
    // Redis is down, or has no such board (new, or being rebuilt): Postgres alone answers.
    const info = await this.pg(() => this.repo.board(board));
    if (info && atRev > info.persistedRev) {
      throw new BlackboardError(ErrorCode.UNAVAILABLE, `Redis cannot answer and Postgres holds revisions up to ${info.persistedRev}`, {
        persistedRev: info.persistedRev,
      });
    }
    return degraded;
  }

  private redisUp(): boolean {
    return this.services.redisReady();
  }

  /** Runs a Postgres read; an unreachable Postgres is UNAVAILABLE, not INTERNAL. */
  private async pg<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof BlackboardError || !this.redisUp()) throw err;
      if (this.health.noteError(err)) {
        throw new BlackboardError(ErrorCode.UNAVAILABLE, 'history (Postgres) is unavailable; retry later');
      }
      throw err;
    }
  }
}
