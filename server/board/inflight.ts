/**
 * The start times of the calls still waiting for Redis, oldest first: the age of the
 * oldest is how long a write issued now would queue behind them (write admission reads it).
 */
export class InFlightClock {
  private readonly started = new Map<number, number>();
  private next = 0;

  begin(): number {
    const ticket = this.next++;
    this.started.set(ticket, performance.now());
    return ticket;
  }

  end(ticket: number): void {
    this.started.delete(ticket);
  }

  get size(): number {
    return this.started.size;
  }

  /** Milliseconds the oldest call still in flight has waited (0 when none is). */
  oldestAgeMs(now = performance.now()): number {
    for (const since of this.started.values()) return Math.max(0, now - since);
    return 0;
  }
}
