/**
 * What this node knows Redis held: the highest revision seen per board (from its own
 * commits, the persister's reads and the board heads it polls). After Redis loses its
 * data, a board whose known revision is above the Postgres watermark lost acknowledged
 * writes and must start a new epoch.
 */
export class SeenRevisions {
  private readonly seen = new Map<string, { rev: number; epoch: string | null }>();

  constructor(private readonly limit = 100_000) {}

  /** `epoch` null: not known with the revision (a commit reply carries none). */
  note(board: string, rev: number, epoch: string | null): void {
    const entry = this.seen.get(board);
    if (entry) {
      if (epoch !== null && entry.epoch !== null && epoch !== entry.epoch) {
        // A newer epoch replaces what was known of the old one.
        entry.rev = rev;
        entry.epoch = epoch;
        return;
      }
      if (rev > entry.rev) entry.rev = rev;
      if (epoch !== null) entry.epoch = epoch;
      return;
    }
    if (this.seen.size >= this.limit) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.set(board, { rev, epoch });
  }

  get(board: string): { rev: number; epoch: string | null } | undefined {
    return this.seen.get(board);
  }

  /** Every board this node knows a revision of. */
  boards(): IterableIterator<string> {
    return this.seen.keys();
  }

  /** After a rebuild: what Redis holds now is what Postgres held. */
  reset(board: string, rev: number, epoch: string): void {
    this.seen.set(board, { rev, epoch });
  }
}
