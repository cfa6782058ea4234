/**
 * Per-connection request limiting: a token bucket (steady rate plus a burst), and a
 * count of refused requests that decides when a client that ignores `retryAfterMs`
 * is cut off. Pure: the caller passes the time.
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

  /** Takes one token: returns 0 if there was one, else the milliseconds until there will be. */
  take(now: number): number {
    const elapsed = Math.max(0, now - this.updatedAt);
    this.updatedAt = now;
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.ratePerSecond) / 1000);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond));
  }
}

/** Counts events in fixed windows that start at the first event after the previous window ended. */
export class StrikeCounter {
  private count = 0;
  private windowStart = 0;

  constructor(private readonly windowMs: number) {}

  /** Records one strike; returns how many fell in the current window, this one included. */
  hit(now: number): number {
    if (this.count === 0 || now - this.windowStart >= this.windowMs) {
      this.count = 0;
      this.windowStart = now;
    }
    return ++this.count;
  }
}
