import { and, eq, gt, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { INSTANCE_KEY, boardKeys } from '../board/keys.js';
import type { RedisClient } from '../board/scripts.js';
import type { BoardStore } from '../board/store.js';
import type { HistoryDb } from './db.js';
import type { PgHealth } from './pg-health.js';
import type { Rebuilder } from './rebuild.js';
import { boards } from './schema/index.js';
import type { SeenRevisions } from './seen.js';

const PAGE = 1_000;

function runIdOf(info: string): string {
  return /^run_id:(\S+)/m.exec(info)?.[1] ?? '';
}

/**
 * Notices that the node's Redis is another server than before (a Sentinel failover, or a
 * restart that reloaded an older copy of the data) and finds the boards whose revisions
 * went backwards: acknowledged `memory` writes the new primary never received.
 *
 * From the moment the connection is back until the check is done, requests are refused
 * with UNAVAILABLE, so no read serves, and no commit builds on, a board that lost
 * revisions. (While Redis is down, requests fail by themselves or are answered from
 * Postgres, degraded.) Such a board is rebuilt from Postgres with a new epoch (its meta is dropped
 * first, so any node that touches it rebuilds it): the loss is announced, never silent.
 */
export class RedisSwitchCheck {
  private runId = '';
  private holding = false;
  private checking: Promise<void> | null = null;
  private recheck = false;
  switches = 0;
  boardsRebuilt = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly store: BoardStore,
    private readonly db: HistoryDb,
    private readonly health: PgHealth,
    private readonly seen: SeenRevisions,
    private readonly rebuilder: Rebuilder,
    private readonly log: Logger,
  ) {}

  /** Remembers the server the node starts on and follows its connection. */
  async start(): Promise<void> {
    this.runId = runIdOf(String(await this.redis.info('server')));
    this.redis.on('ready', this.onReady);
  }

  stop(): void {
    this.redis.off('ready', this.onReady);
    this.holding = false;
  }

  /** For the dispatcher: refuses requests while a reconnect has not been checked. */
  admit(): void {
    if (this.holding) throw new BlackboardError(ErrorCode.UNAVAILABLE, 'Redis reconnected and is being checked for lost revisions; retry');
  }

  private readonly onReady = () => {
    if (this.runId) this.holding = true;
    // A reconnect during a check is checked again after it: it may be yet another server.
    if (this.checking) {
      this.recheck = true;
      return;
    }
    this.checking = (async () => {
      do {
        this.recheck = false;
        await this.check();
      } while (this.recheck);
    })().finally(() => {
      this.checking = null;
    });
  };

  private async check(): Promise<void> {
    try {
      const runId = runIdOf(String(await this.redis.info('server')));
      if (!runId || runId === this.runId) return;
      this.log.warn({ before: this.runId, after: runId }, 'Redis is another server than before (failover or restart): checking boards for lost revisions');
      this.runId = runId;
      this.switches++;
      await this.findLostRevisions();
    } catch (err) {
      this.log.warn({ err }, 'checking Redis after a reconnect failed');
    } finally {
      // A reconnect that came during this check keeps requests held until it is checked too.
      this.holding = this.recheck;
    }
  }

  private async findLostRevisions(): Promise<void> {
    // What this node saw, then what Postgres recorded (other nodes' persisters included).
    const known = new Map<string, { rev: number; epoch: string | null }>();
    /** The epoch Postgres accepts for each board it has. */
    const accepted = new Map<string, string>();
    for (const board of this.seen.boards()) {
      const s = this.seen.get(board);
      if (s) known.set(board, { ...s });
    }
    if (this.health.up) {
      try {
        for (let after = ''; ; ) {
          const rows = await this.db
            .select({ name: boards.name, epoch: boards.epoch, persistedRev: boards.persistedRev, seenRev: boards.seenRev })
            .from(boards)
            .where(gt(boards.name, after))
            .orderBy(boards.name)
            .limit(PAGE);
          for (const row of rows) {
            accepted.set(row.name, row.epoch);
            const rev = Math.max(row.persistedRev, row.seenRev);
            const mine = known.get(row.name);
            if (!mine || (mine.epoch !== null && mine.epoch !== row.epoch)) known.set(row.name, { rev, epoch: row.epoch });
            else if (rev > mine.rev && (mine.epoch === null || mine.epoch === row.epoch)) mine.rev = rev;
          }
          if (rows.length < PAGE) break;
          after = rows[rows.length - 1]!.name;
        }
      } catch (err) {
        if (!this.health.noteError(err)) throw err;
      }
    }
    const names = [...known.keys()];
    const states = await Promise.all(names.map((b) => this.store.boardState(b)));
    // Behind: fewer revisions than known in the same epoch, or an epoch Postgres no longer
    // accepts (the new primary holds the board as it was before a rebuild it never saw).
    const behind = names.filter((board, i) => {
      const state = states[i];
      if (!state) return false;
      const k = known.get(board)!;
      const pgEpoch = accepted.get(board);
      if (pgEpoch !== undefined && pgEpoch !== state.epoch) return true;
      return (k.epoch === null || k.epoch === state.epoch) && state.rev < k.rev;
    });
    for (const board of behind) {
      const k = known.get(board)!;
      const state = states[names.indexOf(board)]!;
      this.log.warn(
        { board, redisRev: state.rev, redisEpoch: state.epoch, knownRev: k.rev, knownEpoch: k.epoch },
        'the new Redis primary lacks revisions (or holds an abandoned epoch): rebuilding the board from Postgres',
      );
      // Every node's rebuild must see the loss, not only this one's.
      await this.db
        .update(boards)
        .set({ seenRev: sql`greatest(${boards.seenRev}, ${k.rev})` })
        .where(and(eq(boards.name, board), eq(boards.epoch, k.epoch ?? state.epoch)))
        .catch((err: unknown) => {
          if (!this.health.noteError(err)) throw err;
        });
      this.seen.note(board, k.rev, k.epoch ?? state.epoch);
      const keys = boardKeys(board);
      // Locks and presence are rebuilt by their holders, as after any loss of Redis data.
      await this.redis.del(keys.meta, keys.locks, keys.deadlines, keys.presenceOwners);
      // Without the marker a board with no meta is never created afresh, only rebuilt from
      // Postgres (once it answers); the recovery that notices it writes it back.
      await this.redis.del(INSTANCE_KEY);
    }
    // Not awaited: with the meta gone, any request for these boards waits for their
    // rebuild (or does it) through the commit path; the others need not wait at all.
    for (const board of behind) {
      void this.rebuilder.rebuild(board).then(
        (outcome) => {
          if (outcome) this.boardsRebuilt++;
        },
        (err: unknown) => this.log.warn({ err, board }, 'rebuild after the Redis switch failed; the next access retries'),
      );
    }
  }
}
