import { afterEach, describe, expect, it } from 'vitest';
import { monitorLoop, type LoopMonitor } from './loop-delay.js';
import { waitFor } from '../../../test/support/wait.js';

/** Keeps the loop running JavaScript for `ms` (what a long decode or insert-text build does). */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('monitorLoop', () => {
  let monitor: LoopMonitor | undefined;
  afterEach(() => monitor?.close());

  it('reports a loop held by long callbacks as late by at least the hold, and as busy for it', async () => {
    // A period of several holds: the first timer tick after a period's reset only restarts the
    // histogram's clock (Node records the time between two ticks), so a period needs two or more.
    monitor = monitorLoop(1500);
    const before = monitor.figures();
    expect(before).toMatchObject({ delayP99Seconds: 0, delayMaxSeconds: 0 });
    let held = 0;
    // Every period is made of 300 ms holds whatever else the machine runs: the hold comes again
    // after each probe (one loop turn, so one timer tick) until a completed period is reported.
    const late = await waitFor(
      'a period with the loop held',
      () => {
        block(300);
        held += 0.3;
        const f = monitor?.figures();
        return f !== undefined && f.delayMaxSeconds > 0 ? f : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1 },
    );
    // Late by the hold less the timer's resolution at most (a tick may fall just before it).
    expect(late.delayMaxSeconds).toBeGreaterThanOrEqual(0.28);
    expect(late.delayP99Seconds).toBeLessThanOrEqual(late.delayMaxSeconds);
    expect(late.busySeconds - before.busySeconds).toBeGreaterThanOrEqual(held * 0.99);
  });
});
