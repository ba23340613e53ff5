import { describe, expect, it } from 'vitest';
import { reconnectDelay } from './backoff.js';

describe('reconnectDelay', () => {
  it('doubles up to the ceiling, with full jitter below it', () => {
    expect([0, 1, 2, 3, 10].map((a) => reconnectDelay(a, 1000, 60_000, () => 1))).toEqual([
      1000, 2000, 4000, 8000, 60_000,
    ]);
    expect(reconnectDelay(3, 1000, 60_000, () => 0.25)).toBe(2000);
    // Never below half the minimum, so a fleet does not hammer the broker at once.
    expect(reconnectDelay(0, 1000, 60_000, () => 0)).toBe(500);
    expect(reconnectDelay(1000, 1000, 60_000, () => 1)).toBe(60_000);
  });
});
