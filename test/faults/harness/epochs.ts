import type { BlackboardClient, Watch } from '../../../client/sdk/index.js';

export interface EpochChange {
  from: string;
  to: string;
  /** Monotonic time at which a client first saw the new epoch. */
  detectedAt: number;
  via: 'subscribe' | 'boards';
}

const POLL_MS = 100;

/**
 * Watches a board's epoch the way a client can: a live subscription (whose re-snapshot
 * after EPOCH_CHANGED carries the new epoch) and the `boards` listing, polled. A new
 * epoch is the server's announcement that acknowledged `memory` writes were lost; from
 * then on the workload moves to a fresh generation of keys, so that each generation's
 * history is checked within one epoch.
 */
export class EpochMonitor {
  epoch = '';
  readonly changes: EpochChange[] = [];
  /** Monotonic times of faults that can lose Redis data: where a generation's history is cut. */
  readonly dataLosses: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private watch: Watch | null = null;

  constructor(
    private readonly client: BlackboardClient,
    private readonly board: string,
  ) {}

  get generation(): number {
    return this.changes.length;
  }

  async start(): Promise<void> {
    this.watch = this.client.watch(this.board, ['**'], (change) => {
      if (change.type === 'reset') this.observe(change.epoch, 'subscribe');
    });
    await this.watch.ready();
    this.observe(this.watch.epoch, 'subscribe');
    this.timer = setInterval(() => void this.poll(), POLL_MS);
  }

  private async poll(): Promise<void> {
    try {
      const { boards } = await this.client.boards(this.board);
      const entry = boards.find((b) => b.board === this.board);
      if (entry) this.observe(entry.epoch, 'boards');
    } catch {
      // Unreachable for a moment: the next poll tells.
    }
  }

  private observe(epoch: string, via: EpochChange['via']): void {
    if (!epoch || epoch === this.epoch) return;
    if (this.epoch === '') {
      this.epoch = epoch;
      return;
    }
    this.changes.push({ from: this.epoch, to: epoch, detectedAt: performance.now(), via });
    this.epoch = epoch;
  }

  noteDataLoss(): void {
    this.dataLosses.push(performance.now());
  }

  /**
   * Where generation `g`'s history ends: the first data loss after the generation began,
   * if a later epoch followed it; otherwise never.
   */
  cutOf(generation: number): number {
    if (generation >= this.changes.length) return Infinity;
    const began = generation === 0 ? -Infinity : (this.changes[generation - 1]?.detectedAt ?? -Infinity);
    return this.dataLosses.find((t) => t > began) ?? Infinity;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.watch?.close();
  }
}
