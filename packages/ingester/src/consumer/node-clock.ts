/**
 * Where a batch is stored in time when its node's clock is plainly wrong. Rows are stored at the
 * node's times, and the tables' TTLs count from them: a gateway that booted without a real-time
 * clock and ran at 1970 had every row deleted at the next merge, unseen, and one whose clock ran
 * years ahead had its rows kept for ever, out of every chart. A batch is off-clock when its window
 * ends more than NODE_CLOCK_AHEAD_MS after the ingester's receive time (no node has data from the
 * future) or before NODE_CLOCK_FLOOR_MS (a clock that was never set); it is stored moved by its
 * ClockSkewMs (receive time - the node's send time): where a right clock would have put a batch
 * sent live. The ledger keeps the node's own times; the router counts and logs it. Pure.
 *
 * A window that is merely old is not taken for a wrong clock: the collector stamps a batch's send
 * time when it seals it, so a node with a right clock back from a week offline sends week-old
 * windows with a week's skew, and moving them stacked its backlog at the receive time. Those are
 * stored at their own times; past the shortest data retention their rows go at the next merge,
 * which the router counts (pastRetention) rather than leaving unseen.
 *
 * The node is not told, as it knows nothing of its clock: the collector starts its windows again
 * at the new time when the clock is set (see its README, "The wall clock stepped back").
 */
import { limits, type Batch } from '@edge-telemetry/protocol';
import type { RetentionConfig } from '../storage/retention.js';

const DAY_MS = 86_400_000;

/**
 * How far after the receive time a window may end: a node clock a few minutes fast is ordinary, and
 * the collector believes a log line's time up to 5 min ahead of its own (logs.window.futureSkewMs).
 */
export const NODE_CLOCK_AHEAD_MS = 10 * 60_000;
/**
 * No collector of this protocol ran before 2025: a window before it comes from a clock that was
 * never set (1970, or the build date a board without a real-time clock boots at).
 */
export const NODE_CLOCK_FLOOR_MS = Date.UTC(2025, 0, 1);

export interface NodeClockBounds {
  /** A window that ends this long after the receive time, or later, is off-clock ('ahead'). */
  aheadMs: number;
  /** A window that ends before this time is off-clock ('behind'). */
  floorMs: number;
  /** The shortest data retention: a window that ended longer ago than this has rows the TTL deletes at once. */
  retentionMs: number;
}

export function nodeClockBounds(retention: Pick<RetentionConfig, 'metricsDays' | 'logsDays'>): NodeClockBounds {
  return {
    aheadMs: NODE_CLOCK_AHEAD_MS,
    floorMs: NODE_CLOCK_FLOOR_MS,
    retentionMs: Math.min(retention.metricsDays, retention.logsDays) * DAY_MS,
  };
}

export type OffClock = 'behind' | 'ahead';

/** The node's own times of a moved batch, for the ledger. */
export type AsSent = Pick<Batch, 'sentAt' | 'windowStart' | 'windowEnd'>;

export type Placed = { batch: Batch; off?: undefined } | { batch: Batch; off: OffClock; asSent: AsSent };

/** The batch as it is stored: as it came, or moved when it is off-clock (above). */
export function placeBatch(b: Batch, receivedAt: number, bounds: NodeClockBounds): Placed {
  const off = offClock(b.windowEnd, receivedAt, bounds);
  if (off === undefined) return { batch: b };
  let shift = receivedAt - b.sentAt;
  // A send time that does not go with the window (no collector's): the window ends at the receive time.
  if (offClock(b.windowEnd + shift, receivedAt, bounds) !== undefined) shift = receivedAt - b.windowEnd;
  return {
    batch: moved(b, shift),
    off,
    asSent: { sentAt: b.sentAt, windowStart: b.windowStart, windowEnd: b.windowEnd },
  };
}

/** Whether a batch stored at its own times ended before the shortest retention: some of its rows go at the next merge. */
export function pastRetention(b: Batch, receivedAt: number, bounds: NodeClockBounds): boolean {
  return b.windowEnd < receivedAt - bounds.retentionMs;
}

function offClock(t: number, receivedAt: number, bounds: NodeClockBounds): OffClock | undefined {
  if (t > receivedAt + bounds.aheadMs) return 'ahead';
  if (t < bounds.floorMs) return 'behind';
  return undefined;
}

/** Every node time of the batch moved by `shift`, kept within the protocol's range. */
function moved(b: Batch, shift: number): Batch {
  const at = (t: number) => Math.min(Math.max(t + shift, 0), limits.maxTimestampMs);
  const out: Batch = {
    ...b,
    sentAt: at(b.sentAt),
    windowStart: at(b.windowStart),
    windowEnd: at(b.windowEnd),
    metrics: b.metrics.map((m) => ({ ...m, start: at(m.start), end: at(m.end) })),
    logs: b.logs.map((l) => ({ ...l, ts: at(l.ts) })),
    templates: b.templates.map((t) => ({
      ...t,
      firstSeen: at(t.firstSeen),
      lastSeen: at(t.lastSeen),
      samples: t.samples.map((s) => ({ ...s, ts: at(s.ts) })),
    })),
    events: b.events.map((e) => ({ ...e, ts: at(e.ts) })),
  };
  if (b.spans !== undefined) out.spans = b.spans.map((s) => ({ ...s, start: at(s.start), end: at(s.end) }));
  return out;
}
