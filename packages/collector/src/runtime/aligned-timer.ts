/**
 * Calls fn at every multiple of intervalMs on the wall clock (plus `offsetMs`), so that windows of
 * all nodes line up (12:00:00-12:01:00, not 12:00:17-12:01:17) and merge centrally. A run that is
 * still going when the next tick comes is not overlapped: the tick is skipped and counted.
 */
import { seedFrom } from '../sources/demo/prng.js';

export interface AlignedTimer {
  /** No further ticks; resolves once a tick already running has finished (its work may need what the caller closes next). */
  stop(): Promise<void>;
  readonly skipped: number;
}

/**
 * A node's share of `jitterMs` (0..jitterMs, from its name, so the same on every start): spreads
 * the ticks of a fleet whose timers are all aligned over that span.
 */
export function nodeOffsetMs(node: string, jitterMs: number): number {
  return seedFrom(node) % (Math.floor(jitterMs) + 1);
}

/**
 * How long after a window's end (and the logs' lateness) a node seals it: its share of
 * `downsample.sealJitterMs`, capped at a quarter of `windowMs`, so that the data's delay stays
 * small beside the window it summarises (a 10 s window with the 15 s default waits at most 2.5 s).
 */
export function sealDelayMs(node: string, o: { sealJitterMs: number; windowMs: number }): number {
  return nodeOffsetMs(node, Math.min(o.sealJitterMs, o.windowMs / 4));
}

export function startAlignedTimer(
  intervalMs: number,
  fn: (tick: number) => Promise<void>,
  onError: (err: unknown) => void,
  now: () => number = Date.now,
  offsetMs = 0,
): AlignedTimer {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let skipped = 0;
  let last = -Infinity;
  /** `t`: the clock now (the reading a firing timer judged its tick by, so that both agree). */
  const schedule = (t = now()) => {
    if (stopped) return;
    const aligned = Math.floor((t - offsetMs) / intervalMs) * intervalMs + intervalMs + offsetMs;
    // A timer may fire a millisecond before the wall clock reaches its tick; never run a tick twice.
    const next = Math.max(aligned, last + intervalMs);
    timer = setTimeout(() => {
      const at = now();
      // Stepped back since this was scheduled (NTP correcting a clock that ran ahead): the tick is
      // ahead of the clock now, and running it would close windows of the old time (a metric
      // window an hour ahead, as a step forward); waiting for the tick after it stopped every
      // scrape and seal for as long as the step. Ticks start over from the new time.
      if (at < next - intervalMs) {
        last = -Infinity;
        schedule(at);
        return;
      }
      last = next;
      schedule(at);
      if (running) {
        skipped++;
        return;
      }
      running = fn(next)
        .catch(onError)
        .finally(() => (running = undefined));
    }, next - t);
  };
  schedule();
  return {
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
    get skipped() {
      return skipped;
    },
  };
}
