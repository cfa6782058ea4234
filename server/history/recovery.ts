import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { INSTANCE_KEY, boardKeys } from '../board/keys.js';
import type { BoardMaterializer, BoardStore } from '../board/store.js';
import type { RedisClient } from '../board/scripts.js';
import type { PgHealth } from './pg-health.js';
import type { Rebuilder } from './rebuild.js';
import type { HistoryRepo } from './repo.js';

const PAGE = 1_000;
const PARALLEL = 4;

/**
 * Notices that Redis lost its data and brings every board back from Postgres.
 *
 * The instance marker is written only after every board Postgres knows has been
 * checked (and rebuilt where its meta was missing). So while the marker is missing, a
 * board without meta may be one Redis lost, and only Postgres can say; once it is
 * there, a board without meta is new.
 */
export class Recovery implements BoardMaterializer {
  private recovering: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  recoveries = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly store: BoardStore,
    private readonly repo: HistoryRepo,
    private readonly rebuilder: Rebuilder,
    private readonly health: PgHealth,
    private readonly log: Logger,
    private readonly checkMs: number,
    /** Runs before any board is rebuilt (the cluster id is claimed again; it throws when Redis is another cluster's). */
    private readonly beforeRecovery: () => Promise<void> = async () => undefined,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.checkMs);
    this.timer.unref();
    void this.check();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.recovering?.catch(() => undefined);
  }

  /** Checks the marker; starts a recovery when it is gone. */
  async check(): Promise<void> {
    try {
      if ((await this.redis.exists(INSTANCE_KEY)) === 1) return;
    } catch {
      return; // Redis is down: nothing to do until it answers.
    }
    if (!this.health.up && !(await this.health.probe())) return;
    await this.recoverAll().catch((err: unknown) => {
      this.log.warn({ err }, 'recovery from Postgres failed; will retry');
    });
  }

  recoverAll(): Promise<void> {
    this.recovering ??= (async () => {
      this.log.warn('Redis has no instance marker: checking every board against Postgres');
      await this.beforeRecovery();
      let rebuilt = 0;
      for (let after = ''; ; ) {
        const names = await this.repo.boardNames(after, PAGE);
        const missing: string[] = [];
        const exists = await Promise.all(names.map((name) => this.redis.exists(boardKeys(name).meta)));
        names.forEach((name, i) => {
          if (exists[i] === 0) missing.push(name);
        });
        for (let i = 0; i < missing.length; i += PARALLEL) {
          const outcomes = await Promise.all(missing.slice(i, i + PARALLEL).map((b) => this.rebuilder.rebuild(b)));
          rebuilt += outcomes.filter((o) => o !== null).length;
        }
        if (names.length < PAGE) break;
        after = names[names.length - 1]!;
      }
      await this.redis.set(INSTANCE_KEY, randomUUID(), 'NX');
      this.recoveries++;
      this.log.warn({ rebuilt }, 'recovery from Postgres finished');
    })().finally(() => {
      this.recovering = null;
    });
    return this.recovering;
  }

  /** Called by commit (and subscribe) for a board with no meta. */
  async materialize(board: string): Promise<void> {
    if (this.health.up || (await this.health.probe())) {
      try {
        if (await this.repo.board(board)) {
          await this.rebuilder.rebuild(board);
          return;
        }
      } catch (err) {
        if (!this.health.noteError(err)) throw err;
        return this.materializeWithoutPostgres(board);
      }
      await this.store.createBoard(board);
      return;
    }
    return this.materializeWithoutPostgres(board);
  }

  /** Called by reads for a board with no meta: rebuilds it if Postgres knows it, never creates it. */
  async restore(board: string): Promise<boolean> {
    if (this.health.up || (await this.health.probe())) {
      try {
        if (!(await this.repo.board(board))) return false;
        await this.rebuilder.rebuild(board);
        return (await this.redis.exists(boardKeys(board).meta)) === 1;
      } catch (err) {
        if (!this.health.noteError(err)) throw err;
      }
    }
    // Postgres cannot say: while the instance marker stands, a board without meta is one never written.
    if ((await this.redis.exists(INSTANCE_KEY)) === 1) return false;
    throw new BlackboardError(ErrorCode.UNAVAILABLE, `board ${board} may need rebuilding from Postgres, which is unreachable; retry later`);
  }

  private async materializeWithoutPostgres(board: string): Promise<void> {
    if ((await this.redis.exists(INSTANCE_KEY)) === 1) {
      await this.store.createBoard(board);
      return;
    }
    throw new BlackboardError(ErrorCode.UNAVAILABLE, `board ${board} may need rebuilding from Postgres, which is unreachable; retry later`);
  }
}
