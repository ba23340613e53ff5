import { describe, expect, it } from 'vitest';
import { limits } from '@edge-telemetry/protocol';
import { sampleBatch } from '../../../../test/support/batches.js';
import { NODE_CLOCK_AHEAD_MS, NODE_CLOCK_FLOOR_MS, nodeClockBounds, pastRetention, placeBatch } from './node-clock.js';

const DAY = 86_400_000;
const R = Date.UTC(2026, 11, 7, 10, 0, 17);
/** The defaults: metrics kept 30 days, logs 7. */
const bounds = nodeClockBounds({ metricsDays: 30, logsDays: 7 });

describe('placeBatch', () => {
  it('stores a batch of a set clock as it came, however old: a backlog keeps its times', () => {
    expect(bounds).toEqual({ aheadMs: NODE_CLOCK_AHEAD_MS, floorMs: NODE_CLOCK_FLOOR_MS, retentionMs: 7 * DAY });
    for (const now of [R - 30_000, R + 9 * 60_000, R - 6 * DAY, R - 8 * DAY, NODE_CLOCK_FLOOR_MS + 60_000]) {
      const b = sampleBatch({ node: 'n', seq: 1, now });
      expect(placeBatch(b, R, bounds)).toEqual({ batch: b });
    }
    // A right clock back from a week offline: its windows were sealed (and stamped) a week ago.
    const week = sampleBatch({ node: 'n', seq: 1, now: R - 7.5 * DAY });
    expect(week.sentAt).toBe(R - 7.5 * DAY);
    expect(placeBatch(week, R, bounds).batch).toBe(week);
    // Older than the logs' retention: counted, since the TTL deletes its logs at the next merge.
    expect(pastRetention(week, R, bounds)).toBe(true);
    expect(pastRetention(sampleBatch({ node: 'n', seq: 1, now: R - 6 * DAY }), R, bounds)).toBe(false);
  });

  it("moves every node time of an off-clock batch by its skew, and keeps the node's times apart", () => {
    // A node at 1970 (booted without a real-time clock) sealed it 2 s before it was received.
    const behind = sampleBatch({ node: 'n', seq: 1, now: 3_600_000 });
    const placed = placeBatch(behind, R + 2_000, bounds);
    const shift = R + 2_000 - behind.sentAt;
    expect(placed.off).toBe('behind');
    expect(placed.off && placed.asSent).toEqual({
      sentAt: behind.sentAt,
      windowStart: behind.windowStart,
      windowEnd: behind.windowEnd,
    });
    const b = placed.batch;
    expect([b.sentAt, b.windowStart, b.windowEnd]).toEqual([
      R + 2_000,
      behind.windowStart + shift,
      behind.windowEnd + shift,
    ]);
    expect(b.metrics.map((m) => [m.start, m.end])).toEqual(behind.metrics.map((m) => [m.start + shift, m.end + shift]));
    expect(b.logs.map((l) => l.ts)).toEqual(behind.logs.map((l) => l.ts + shift));
    expect(b.templates.map((t) => [t.firstSeen, t.lastSeen, t.samples.map((s) => s.ts)])).toEqual(
      behind.templates.map((t) => [t.firstSeen + shift, t.lastSeen + shift, t.samples.map((s) => s.ts + shift)]),
    );
    expect(b.events.map((e) => e.ts)).toEqual(behind.events.map((e) => e.ts + shift));
    // What is not a time is the node's.
    const untimed = { sentAt: 0, windowStart: 0, windowEnd: 0, metrics: [], logs: [], templates: [], events: [] };
    expect({ ...b, ...untimed }).toEqual({ ...behind, ...untimed });
    // The batch as decoded is left as it was (the keyframe store and the dead letters have it).
    expect(behind.windowEnd).toBe(3_600_000);

    const ahead = sampleBatch({ node: 'n', seq: 2, now: R + 2 * 365 * DAY });
    const far = placeBatch(ahead, R, bounds);
    expect(far.off).toBe('ahead');
    expect(far.batch.windowEnd).toBe(ahead.windowEnd + R - ahead.sentAt);
  });

  it('ends a batch whose send time does not go with its window at the receive time, within the protocol range', () => {
    // Not a collector's: a window at 1970 sent "years ahead".
    const odd = { ...sampleBatch({ node: 'n', seq: 1, now: 3_600_000 }), sentAt: R + 5 * 365 * DAY };
    const placed = placeBatch(odd, R, bounds);
    expect(placed.off).toBe('behind');
    expect(placed.batch.windowEnd).toBe(R);
    // A time the shift would take below 0 or past the protocol's bound stays in range.
    const wide = sampleBatch({ node: 'n', seq: 2, now: limits.maxTimestampMs - DAY });
    const spread = { ...wide, logs: [{ ...wide.logs[0]!, ts: 0 }] };
    const moved = placeBatch(spread, R, bounds).batch;
    expect(moved.logs[0]!.ts).toBe(0);
    expect(moved.windowEnd).toBe(R + wide.windowEnd - wide.sentAt);
  });
});
