import { describe, expect, it } from 'vitest';
import { startAlignedTimer } from './aligned-timer.js';

describe('startAlignedTimer', () => {
  it('runs each tick once, on multiples of the interval, even when timers fire early', async () => {
    const ticks: number[] = [];
    // A clock that lags the timers by 3 ms, as Date.now() can against Node's monotonic timers.
    const timer = startAlignedTimer(
      20,
      async (t) => void ticks.push(t),
      () => {},
      () => Date.now() - 3,
    );
    await new Promise((r) => setTimeout(r, 300));
    await timer.stop();
    expect(ticks.length).toBeGreaterThan(5);
    expect(new Set(ticks).size).toBe(ticks.length);
    for (const t of ticks) expect(t % 20).toBe(0);
  });

  it('skips and counts a tick while the previous run is still going', async () => {
    const timer = startAlignedTimer(
      20,
      () => new Promise((r) => setTimeout(r, 70)),
      () => {},
    );
    await new Promise((r) => setTimeout(r, 300));
    await timer.stop();
    expect(timer.skipped).toBeGreaterThan(0);
  });

  it('stop() resolves only after a tick already running has finished', async () => {
    let finished = false;
    const timer = startAlignedTimer(
      10,
      () => new Promise<void>((r) => setTimeout(() => ((finished = true), r()), 80)),
      () => {},
    );
    await new Promise((r) => setTimeout(r, 30));
    await timer.stop();
    expect(finished).toBe(true);
  });
});
