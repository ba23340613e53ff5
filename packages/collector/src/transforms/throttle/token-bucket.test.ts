import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  it('lets a burst through, then the average rate', () => {
    const b = new TokenBucket({ linesPerSecond: 10, burst: 5 }, 0);
    const passed = (now: number, n: number) => Array.from({ length: n }, () => b.take(now)).filter(Boolean).length;
    expect(passed(0, 8)).toBe(5);
    expect(passed(100, 3)).toBe(1);
    expect(passed(1100, 20)).toBe(5);
    expect(new TokenBucket({ linesPerSecond: 0, burst: 1 }, 0).take(0)).toBe(true);
  });

  it('counts a clock stepped back as no time, and lines a little out of order as no refill', () => {
    const b = new TokenBucket({ linesPerSecond: 1, burst: 1 }, 3_600_000);
    expect(b.take(3_600_000)).toBe(true);
    // An hour back: refilled from the new time on, not only once the clock is back at the old one.
    expect(b.take(0)).toBe(false);
    expect(b.take(1000)).toBe(true);
    // Times that go back and forth by a few ms refill each ms once.
    const c = new TokenBucket({ linesPerSecond: 1, burst: 1 }, 0);
    let passed = 0;
    for (let t = 0; t < 10_000; t += 10) for (const ts of [t, t - 5]) if (c.take(ts)) passed++;
    expect(passed).toBeLessThanOrEqual(11);
  });
});
