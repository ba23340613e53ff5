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
});
