import type { Logger } from 'pino';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { boardKeys } from '../board/keys.js';
import type { RedisClient } from '../board/scripts.js';

interface Waiter {
  rev: number;
  epoch: string;
  resolve(): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

const MAX_WAITERS = 100_000;

/**
 * Waits for a board's watermark (persisted in Postgres up to revision N) to reach a
 * revision. The local persister reports its commits directly; commits made by other
 * nodes show up in the meta field `pw`, which is polled while anyone waits.
 */
export class PersistWaiters {
  private readonly waiting = new Map<string, Set<Waiter>>();
  private count = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly log: Logger,
    private readonly pollMs: number,
    private readonly nudge: (board: string) => void,
  ) {}

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const set of this.waiting.values()) {
      for (const w of set) {
        clearTimeout(w.timer);
        w.reject(new BlackboardError(ErrorCode.UNAVAILABLE, 'server shutting down'));
      }
    }
    this.waiting.clear();
    this.count = 0;
  }

  /** Resolves once `rev` of the board's current epoch is in Postgres; TIMEOUT after `timeoutMs`. */
  async wait(board: string, rev: number, timeoutMs: number): Promise<void> {
    const [epoch, pw] = await this.redis.hmget(boardKeys(board).meta, 'epoch', 'pw');
    if (!epoch) throw new BlackboardError(ErrorCode.UNAVAILABLE, `board ${board} is being rebuilt; retry`);
    if (pw !== null && Number(pw) >= rev) return;
    if (this.count >= MAX_WAITERS) {
      throw new BlackboardError(ErrorCode.TIMEOUT, 'too many writes are waiting for Postgres', { rev });
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        rev,
        epoch,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.remove(board, waiter);
          reject(new BlackboardError(ErrorCode.TIMEOUT, `revision ${rev} is committed but not yet in Postgres`, { rev }));
        }, timeoutMs),
      };
      let set = this.waiting.get(board);
      if (!set) this.waiting.set(board, (set = new Set()));
      set.add(waiter);
      this.count++;
      this.ensurePolling();
      this.nudge(board);
    });
  }

  /** The board's watermark in Postgres is now `watermark` for `epoch`. */
  advance(board: string, epoch: string, watermark: number): void {
    const set = this.waiting.get(board);
    if (!set) return;
    for (const w of [...set]) {
      if (w.epoch !== epoch) continue;
      if (w.rev <= watermark) this.settle(board, w);
    }
  }

  private settle(board: string, w: Waiter, err?: Error): void {
    this.remove(board, w);
    clearTimeout(w.timer);
    if (err) w.reject(err);
    else w.resolve();
  }

  private remove(board: string, w: Waiter): void {
    const set = this.waiting.get(board);
    if (!set?.delete(w)) return;
    this.count--;
    if (set.size === 0) this.waiting.delete(board);
  }

  private ensurePolling(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const boards = [...this.waiting.keys()];
    if (boards.length === 0) {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      return;
    }
    try {
      const replies = await Promise.all(boards.map((board) => this.redis.hmget(boardKeys(board).meta, 'epoch', 'pw')));
      boards.forEach((board, i) => {
        const [epoch, pw] = replies[i] ?? [];
        // No meta: Redis lost the board and a rebuild is under way; keep waiting.
        if (!epoch) return;
        for (const w of [...(this.waiting.get(board) ?? [])]) {
          if (w.epoch !== epoch) {
            this.settle(
              board,
              w,
              new BlackboardError(ErrorCode.UNAVAILABLE, `revision ${w.rev} was lost with Redis before reaching Postgres`, {
                rev: w.rev,
                epoch,
              }),
            );
          } else if (pw !== null && Number(pw) >= w.rev) this.settle(board, w);
        }
      });
    } catch (err) {
      this.log.debug({ err }, 'watermark poll failed');
    }
  }
}
