/**
 * Full-jitter exponential backoff (the AWS architecture blog's "full jitter"): a random
 * delay between 0 and min(cap, base * 2^attempt), so reconnecting clients spread out.
 */
export function fullJitterDelay(attempt: number, baseMs = 100, capMs = 5_000, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
