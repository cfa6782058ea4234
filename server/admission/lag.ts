/**
 * Event-loop lag, sampled by a timer that measures how late it fires. On this server the
 * loop's backlog is fan-out and request work waiting to run, so the lag is the delay a new
 * write's acknowledgement and events would queue behind.
 */
export class LoopLag {
  /** Smoothed lag in ms (an exponentially weighted average of recent samples). */
  lagMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private expected = 0;

  constructor(private readonly intervalMs = 10) {}

  start(): void {
    this.expected = performance.now() + this.intervalMs;
    this.timer = setInterval(() => {
      const now = performance.now();
      const sample = Math.max(0, now - this.expected);
      this.expected = now + this.intervalMs;
      // Rise fast, fall slower: admission should react within one sample and not flap.
      const weight = sample > this.lagMs ? 0.5 : 0.2;
      this.lagMs += (sample - this.lagMs) * weight;
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
