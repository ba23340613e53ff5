import { describe, expect, it } from 'vitest';
import { capacityWithin, createBudgetState, degradeLevel, snapshot, tryTake } from './budget.js';
import type { BudgetOptions } from './options.js';

const DAY = 86_400_000;

/** Offers `size`-byte records as fast as the budget allows over simulated time; returns bytes taken. */
function drive(opts: BudgetOptions, start: number, durationMs: number, size: number): number {
  const s = createBudgetState(start, opts);
  let now = start;
  let sent = 0;
  while (now < start + durationMs) {
    const wait = tryTake(s, size, now, opts);
    if (wait === 0) sent += size;
    else now += wait;
  }
  return sent;
}

describe('budget', () => {
  it('holds the configured rate over a simulated hour within the burst', () => {
    const opts: BudgetOptions = { rateBytesPerSec: 5000, burstSeconds: 10, dailyBytes: 0 };
    for (const size of [100, 1_000, 7_919, 120_000]) {
      const sent = drive(opts, 1_000, 3_600_000, size);
      const expected = 5000 * 3600;
      // At most one bucket (plus one record of debt) above the rate, never more than one record below it.
      expect(sent).toBeGreaterThanOrEqual(expected - size);
      expect(sent).toBeLessThanOrEqual(expected + 5000 * 10 + size);
    }
  });

  it('goes on refilling at its rate after the wall clock is stepped back (NTP correcting a clock that ran ahead)', () => {
    const opts: BudgetOptions = { rateBytesPerSec: 1000, burstSeconds: 10, dailyBytes: 0 };
    const start = 10 * DAY + 3_600_000;
    const s = createBudgetState(start, opts);
    expect(tryTake(s, 10_000, start, opts)).toBe(0);
    // Stepped back an hour, then 5 s pass: 5 s of the rate came, as they would have without the step
    // (before, nothing refilled until the clock was back where it had been: an hour without sending).
    const stepped = start - 3_600_000;
    expect(tryTake(s, 1000, stepped, opts)).toBeGreaterThan(0);
    expect(tryTake(s, 5000, stepped + 5000, opts)).toBe(0);
    expect(tryTake(s, 1000, stepped + 5000, opts)).toBe(1000);
  });

  it('stops at the daily budget and reopens at midnight UTC', () => {
    const opts: BudgetOptions = { rateBytesPerSec: 0, burstSeconds: 10, dailyBytes: 10_000 };
    const start = 10 * DAY + 3_600_000;
    const s = createBudgetState(start, opts);
    let taken = 0;
    while (tryTake(s, 300, start, opts) === 0) taken += 300;
    expect(taken).toBe(9_900);
    expect(snapshot(s, start, opts)).toEqual({ usedTodayBytes: 9_900, usedTotalBytes: 9_900, budgetLeftBytes: 100 });
    expect(tryTake(s, 300, start, opts)).toBe(11 * DAY - start);
    expect(tryTake(s, 300, 11 * DAY, opts)).toBe(0);
    expect(snapshot(s, 11 * DAY, opts)).toEqual({
      usedTodayBytes: 300,
      usedTotalBytes: 10_200,
      budgetLeftBytes: 9_700,
    });
    expect(drive(opts, 0, 3 * DAY, 1000)).toBe(30_000);
  });

  it('lets a record bigger than the bucket through when the bucket is full, in debt', () => {
    const opts: BudgetOptions = { rateBytesPerSec: 100, burstSeconds: 1, dailyBytes: 0 };
    const s = createBudgetState(0, opts);
    expect(tryTake(s, 1000, 0, opts)).toBe(0);
    // 900 bytes of debt plus the 100-byte bucket: 10 s before the next full bucket.
    expect(tryTake(s, 1000, 0, opts)).toBe(10_000);
  });

  it('reports capacity within a horizon from both limits', () => {
    const opts: BudgetOptions = { rateBytesPerSec: 1000, burstSeconds: 10, dailyBytes: 50_000 };
    const s = createBudgetState(0, opts);
    expect(capacityWithin(s, 0, 20_000, opts)).toBe(10_000 + 20_000);
    expect(capacityWithin(s, 0, 3_600_000, opts)).toBe(50_000);
    expect(capacityWithin(s, DAY - 1000, 2000, opts)).toBe(10_000 + 2000);
    expect(
      capacityWithin(createBudgetState(0, { ...opts, rateBytesPerSec: 0, dailyBytes: 0 }), 0, 1000, {
        ...opts,
        rateBytesPerSec: 0,
        dailyBytes: 0,
      }),
    ).toBe(Infinity);
  });

  it('degrades one level per doubling of demand over capacity', () => {
    expect(degradeLevel(500, 0, 1000, 1000)).toBe(0);
    expect(degradeLevel(1000, 0, 1000, 1000)).toBe(0);
    expect(degradeLevel(1500, 0, 1000, 1000)).toBe(1);
    expect(degradeLevel(1000, 1000, 1000, 1000)).toBe(1);
    expect(degradeLevel(3000, 0, 1000, 1000)).toBe(2);
    expect(degradeLevel(1e9, 0, 1000, 1000)).toBe(3);
    expect(degradeLevel(1, 0, 0, 1000)).toBe(3);
    expect(degradeLevel(1e12, 1e9, Infinity, 1000)).toBe(0);
  });
});
