/**
 * Request limiting: token buckets (a steady rate plus a burst) and a count of refused
 * requests that decides when a client that ignores `retryAfterMs` is cut off. Pure: the
 * caller passes the time.
 */

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    /** Tokens added per second. */
    private readonly ratePerSecond: number,
    /** Most tokens held; also the starting amount. */
    private readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.updatedAt);
    this.updatedAt = now;
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.ratePerSecond) / 1000);
  }

  /** Milliseconds until `cost` tokens are there (0: now); takes nothing. A cost above the capacity counts as the capacity. */
  shortfall(now: number, cost = 1): number {
    this.refill(now);
    const need = Math.min(cost, this.capacity);
    if (this.tokens >= need) return 0;
    return Math.max(1, Math.ceil(((need - this.tokens) * 1000) / this.ratePerSecond));
  }

  /** Takes `cost` tokens whether or not they are there: the bucket may go into debt, which later requests wait out. */
  charge(now: number, cost: number): void {
    this.refill(now);
    this.tokens -= cost;
  }

  /** Takes `cost` tokens if they are there: returns 0, else the milliseconds until they will be (taking nothing). */
  take(now: number, cost = 1): number {
    const wait = this.shortfall(now, cost);
    if (wait === 0) this.tokens -= Math.min(cost, this.capacity);
    return wait;
  }
}

/** Counts events in fixed windows that start at the first event after the previous window ended. */
export class StrikeCounter {
  private count = 0;
  private windowStart = 0;

  constructor(private readonly windowMs: number) {}

  /** Records a strike of `weight`; returns the weight counted in the current window, this one included. */
  hit(now: number, weight = 1): number {
    if (this.count === 0 || now - this.windowStart >= this.windowMs) {
      this.count = 0;
      this.windowStart = now;
    }
    this.count += weight;
    return this.count;
  }
}
