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

  it('holds its rate when line times jump back and forth by minutes (an app stamping its own lines)', () => {
    // Lines' times come from the lines (an app's time field, up to logs.window.futureSkewMs ahead of
    // the clock): alternating now + 4 min and now must not refill the bucket on every jump forward.
    const b = new TokenBucket({ linesPerSecond: 1, burst: 10 }, 0);
    let passed = 0;
    for (let i = 0; i < 10_000; i++) if (b.take(i % 2 === 0 ? 240_000 : 0)) passed++;
    // At most the burst and the 240 s of rate that the latest time is ahead of the first.
    expect(passed).toBeLessThanOrEqual(10 + 240);
  });

  it('refills from the time it is restarted at after a clock step back, and lines a little out of order refill nothing', () => {
    const b = new TokenBucket({ linesPerSecond: 1, burst: 1 }, 3_600_000);
    expect(b.take(3_600_000)).toBe(true);
    // An hour back (LogPipeline.seal finds the step and restarts the bucket): refilled from the new
    // time on, not only once the clock is back at the old one.
    b.restartAt(0);
    expect(b.take(0)).toBe(false);
    expect(b.take(1000)).toBe(true);
    // Times that go back and forth by a few ms refill each ms once.
    const c = new TokenBucket({ linesPerSecond: 1, burst: 1 }, 0);
    let passed = 0;
    for (let t = 0; t < 10_000; t += 10) for (const ts of [t, t - 5]) if (c.take(ts)) passed++;
    expect(passed).toBeLessThanOrEqual(11);
  });
});
