import { createHash } from 'node:crypto';
import type { IndexChange } from './index-writer.js';

/** Keys remembered over all boards; past it, the boards recorded longest ago are forgotten. */
const DEFAULT_MAX_KEYS = 100_000;

interface BoardMemo {
  epoch: string;
  /** The board's watermark as this process's last round left it. */
  watermark: number;
  /** Key → digest of the value whose text its document holds. */
  values: Map<string, string>;
}

/** md5 of a value's JSON text: the memo keeps 16 bytes a key, not the value (nor the stream entry it is a slice of). */
function digestOf(value: string): string {
  return createHash('md5').update(value).digest('base64');
}

/**
 * What this process knows the search index holds: for the keys its persister rounds indexed,
 * the value whose text each document has, board by board. A put of the value a document
 * already has needs nothing from the index, and a key rewritten with one value (a status
 * written again, a heartbeat) is the common case: the memo answers it without a statement.
 *
 * A board's memo is good only while every round that committed the board's events since
 * was this process's: each round checks, under the board's row lock, that the board's epoch
 * and watermark are those its last round left and that no revisions wait past a gap (any
 * other node's round moves the watermark or records a range; a rebuild of the index, which
 * holds the same lock, indexes the newest put of every key, which is what the memo says).
 * Otherwise the board's memo is dropped and the round asks Postgres, as without one.
 * A round that fails or leaves a gap forgets its boards.
 */
export class IndexMemo {
  private readonly boards = new Map<string, BoardMemo>();
  private readonly digests = new WeakMap<IndexChange, string>();
  private keys = 0;

  constructor(private readonly maxKeys = DEFAULT_MAX_KEYS) {}

  /**
   * Under the board's row lock, before a round's index changes: keeps the board's memo only
   * when the board is as this process's last round left it and nothing waits past a gap.
   */
  check(board: string, epoch: string, watermark: number, gapFree: boolean): void {
    const memo = this.boards.get(board);
    if (memo && (memo.epoch !== epoch || memo.watermark !== watermark || !gapFree)) this.forget([board]);
  }

  /** The changes the index may need: all but the puts whose document is known to hold their value. */
  pending(changes: IndexChange[]): IndexChange[] {
    return changes.filter((c) => {
      const known = c.value === null ? undefined : this.boards.get(c.board)?.values.get(c.key);
      return known === undefined || known !== this.digest(c);
    });
  }

  /**
   * After a round committed, gap-free, moving the board's watermark to `watermark`: each of
   * `changes` (the newest change of every key the round touched) is what the board's document
   * of that key now reflects.
   */
  committed(board: string, epoch: string, watermark: number, changes: Iterable<IndexChange>): void {
    let memo = this.boards.get(board);
    if (memo && memo.epoch !== epoch) {
      this.forget([board]);
      memo = undefined;
    }
    if (!memo) memo = { epoch, watermark, values: new Map() };
    // Most recently recorded last: the first boards of the map are the ones dropped for room.
    this.boards.delete(board);
    this.boards.set(board, memo);
    memo.watermark = watermark;
    for (const c of changes) {
      if (c.value === null) {
        if (memo.values.delete(c.key)) this.keys--;
        continue;
      }
      const had = memo.values.has(c.key);
      // A new key is copied out of its stream entry, which a slice of it would keep alive.
      memo.values.set(had ? c.key : Buffer.from(c.key, 'utf8').toString('utf8'), this.digest(c));
      if (!had) this.keys++;
    }
    for (const name of this.boards.keys()) {
      if (this.keys <= this.maxKeys || name === board) break;
      this.forget([name]);
    }
    if (this.keys > this.maxKeys) this.forget([board]);
  }

  forget(boards: Iterable<string>): void {
    for (const board of boards) {
      const memo = this.boards.get(board);
      if (!memo) continue;
      this.keys -= memo.values.size;
      this.boards.delete(board);
    }
  }

  /** Keys remembered, over all boards. */
  get size(): number {
    return this.keys;
  }

  private digest(c: IndexChange): string {
    let d = this.digests.get(c);
    if (d === undefined) {
      d = digestOf(c.value ?? '');
      this.digests.set(c, d);
    }
    return d;
  }
}
