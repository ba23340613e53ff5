import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../../test/support/wait.js';
import { nodeOffsetMs, startAlignedTimer } from './aligned-timer.js';

// Each case waits on what the timer did, not for a fixed time: a loaded machine runs fewer ticks in
// 300 ms, and a starved process could run none.
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
    await waitFor('six ticks', () => ticks.length > 5);
    await timer.stop();
    expect(new Set(ticks).size).toBe(ticks.length);
    for (const t of ticks) expect(t % 20).toBe(0);
  });

  it('skips and counts a tick while the previous run is still going', async () => {
    const timer = startAlignedTimer(
      20,
      () => new Promise((r) => setTimeout(r, 70)),
      () => {},
    );
    await waitFor('a skipped tick', () => timer.skipped > 0);
    await timer.stop();
  });

  it('stop() resolves only after a tick already running has finished', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = false;
    let finished = false;
    const timer = startAlignedTimer(
      10,
      async () => {
        started = true;
        await gate;
        finished = true;
      },
      () => {},
    );
    await waitFor('a tick to start', () => started);
    let stopped = false;
    const stopping = timer.stop().then(() => (stopped = true));
    // Whatever ran before now: stop() has not resolved while the tick is held.
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(true);
  });
});

describe('nodeOffsetMs', () => {
  it("gives each node a fixed offset within the jitter, and spreads a fleet's over it", () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => `sim-${String(i + 1).padStart(4, '0')}`);
    const offsets = nodes.map((n) => nodeOffsetMs(n, 5000));
    expect(nodes.map((n) => nodeOffsetMs(n, 5000))).toEqual(offsets);
    for (const o of offsets) expect(o >= 0 && o <= 5000 && Number.isInteger(o)).toBe(true);
    // Every tenth of the span holds some of the fleet, none more than twice its share.
    const tenths = Array.from({ length: 10 }, (_, k) => offsets.filter((o) => Math.floor(o / 500.1) === k).length);
    for (const n of tenths) expect(n > 0 && n < 200).toBe(true);
    expect(nodeOffsetMs('sim-0001', 0)).toBe(0);
  });
});
