/**
 * How busy the ingester's event loop is (issue 21: batches waited ~1.2 s between the broker and
 * the router at a fleet's window end, suspected to be the loop busy with the burst). Two views,
 * since either alone can mislead: a loop kept busy by many short callbacks runs its timers nearly
 * on time (small delay) while messages queue at the socket (busy time near the wall time), and one
 * long callback shows as delay whatever the busy share.
 * - busy seconds, cumulative (`performance.eventLoopUtilization`): rate() over any range is the
 *   share of the time the loop was running JavaScript or native callbacks, the scraper chooses the
 *   range;
 * - delay (`monitorEventLoopDelay`): how late the loop came back to a timer, as p99 and max over
 *   the last complete period, so that every scraper sees the same figures (a histogram reset on
 *   scrape would split them between two scrapers).
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';

/** Sampling resolution of the delay histogram: delays below it are not seen. */
const RESOLUTION_MS = 10;
/** The period the delay figures cover: short enough to show a window-end burst (seconds) apart from the quiet rest of the minute. */
export const LOOP_DELAY_PERIOD_MS = 10_000;

export interface LoopFigures {
  /** Seconds the loop spent running callbacks since the monitor started. */
  busySeconds: number;
  /** Delay over the last complete period (0 before the first one ends). */
  delayP99Seconds: number;
  delayMaxSeconds: number;
}

export interface LoopMonitor {
  figures(): LoopFigures;
  close(): void;
}

export function monitorLoop(periodMs = LOOP_DELAY_PERIOD_MS): LoopMonitor {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const start: EventLoopUtilization = performance.eventLoopUtilization();
  let last = { delayP99Seconds: 0, delayMaxSeconds: 0 };
  const timer = setInterval(() => {
    // Nanoseconds between two ticks of a timer set for RESOLUTION_MS (an idle loop records about
    // the resolution itself): the lateness is what lies beyond it. Before any sample, max is a
    // sentinel, hence the count.
    const late = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS) / 1000;
    last =
      histogram.count > 0
        ? { delayP99Seconds: late(histogram.percentile(99)), delayMaxSeconds: late(histogram.max) }
        : { delayP99Seconds: 0, delayMaxSeconds: 0 };
    // A reset also restarts the tick clock: the period's first tick records nothing (at 10 ms a
    // tick, nothing lost that matters over 10 s).
    histogram.reset();
  }, periodMs);
  // Figures only: never what keeps the process alive.
  timer.unref();
  return {
    figures: () => ({ busySeconds: performance.eventLoopUtilization(start).active / 1000, ...last }),
    close() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
