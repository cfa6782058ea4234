import { describe, expect, it } from 'vitest';
import { InFlightClock } from '../../server/board/inflight.js';

describe('InFlightClock', () => {
  it('reports the age of the oldest call still in flight, whatever order calls end in', async () => {
    const clock = new InFlightClock();
    expect(clock.oldestAgeMs()).toBe(0);
    const first = clock.begin();
    await new Promise((r) => setTimeout(r, 30));
    const second = clock.begin();
    const now = performance.now();
    expect(clock.size).toBe(2);
    expect(clock.oldestAgeMs(now)).toBeGreaterThanOrEqual(25);
    // The oldest ends first: the age falls to the next one's.
    clock.end(first);
    expect(clock.oldestAgeMs(now)).toBeLessThan(10);
    clock.end(second);
    expect(clock.size).toBe(0);
    expect(clock.oldestAgeMs()).toBe(0);
    // A younger call ending first leaves the oldest in charge.
    const a = clock.begin();
    const b = clock.begin();
    clock.end(b);
    expect(clock.size).toBe(1);
    clock.end(a);
    expect(clock.oldestAgeMs()).toBe(0);
  });
});
