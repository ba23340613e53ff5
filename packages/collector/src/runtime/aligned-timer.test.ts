import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../../test/support/wait.js';
import { nodeOffsetMs, sealDelayMs, startAlignedTimer } from './aligned-timer.js';

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

  it('goes on ticking, on multiples of the interval, after the wall clock is stepped back', async () => {
    const ticks: number[] = [];
    let step = 0;
    const timer = startAlignedTimer(
      20,
      async (t) => {
        ticks.push(t);
        // After the third tick the clock is set back an hour, as NTP does to a clock that ran ahead.
        if (ticks.length === 3) step = 3_600_000;
      },
      () => {},
      () => Date.now() - step,
    );
    await waitFor('three ticks after the step', () => ticks.length >= 6, { timeoutMs: 60_000 });
    await timer.stop();
    // The fourth, scheduled before the step, runs at the new time too, not with its old tick.
    const after = ticks.slice(3);
    for (const t of after) expect(t % 20).toBe(0);
    // Each tick after the step is about an hour before the ticks that ran before it, and they rise again.
    expect(after.every((t) => t < (ticks[2] as number) - 3_500_000)).toBe(true);
    expect(new Set(after).size).toBe(after.length);
    expect([...after].sort((a, b) => a - b)).toEqual(after);
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

describe('sealDelayMs', () => {
  const fleet = Array.from({ length: 1000 }, (_, i) => `gw-${i}`);
  const delays = (o: { sealJitterMs: number; windowMs: number }) => fleet.map((n) => sealDelayMs(n, o));
  it('spreads a fleet over downsample.sealJitterMs, capped at a quarter of windowMs', () => {
    // The default 15 s within a minute's window: the whole jitter, spread.
    const minute = delays({ sealJitterMs: 15_000, windowMs: 60_000 });
    expect(Math.max(...minute)).toBeLessThanOrEqual(15_000);
    expect(Math.max(...minute)).toBeGreaterThan(14_000);
    // A 10 s window: a quarter of it (2.5 s) at most, however large the jitter, and still spread to it.
    for (const sealJitterMs of [15_000, 3_000, 1_000_000]) {
      const short = delays({ sealJitterMs, windowMs: 10_000 });
      expect(Math.max(...short)).toBeLessThanOrEqual(2_500);
      expect(Math.max(...short)).toBeGreaterThan(2_300);
    }
    // Below the cap the jitter is the bound; 0 seals every node at once.
    expect(Math.max(...delays({ sealJitterMs: 1_000, windowMs: 10_000 }))).toBeLessThanOrEqual(1_000);
    expect(new Set(delays({ sealJitterMs: 0, windowMs: 60_000 }))).toEqual(new Set([0]));
    // Fixed per node: the same at every start.
    expect(delays({ sealJitterMs: 15_000, windowMs: 10_000 })).toEqual(
      delays({ sealJitterMs: 15_000, windowMs: 10_000 }),
    );
  });
});
