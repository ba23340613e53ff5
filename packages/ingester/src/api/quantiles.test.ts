import { describe, expect, it } from 'vitest';
import { SKETCH_RELATIVE_ACCURACY } from '@edge-telemetry/protocol';
import { sketchQuantiles, type MergedSketch } from './quantiles.js';

const GAMMA = (1 + SKETCH_RELATIVE_ACCURACY) / (1 - SKETCH_RELATIVE_ACCURACY);

function sketch(values: number[]): MergedSketch {
  const pos = new Map<number, number>();
  const neg = new Map<number, number>();
  let zeros = 0;
  for (const v of values) {
    if (v === 0) zeros++;
    else {
      const m = v > 0 ? pos : neg;
      const i = Math.ceil(Math.log(Math.abs(v)) / Math.log(GAMMA));
      m.set(i, (m.get(i) ?? 0) + 1);
    }
  }
  const sorted = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]);
  return {
    zeros,
    posIdx: sorted(pos).map((e) => e[0]),
    posCounts: sorted(pos).map((e) => e[1]),
    negIdx: sorted(neg).map((e) => e[0]),
    negCounts: sorted(neg).map((e) => e[1]),
  };
}

describe('sketchQuantiles', () => {
  it('is within the relative accuracy of the exact quantiles', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1 + ((i * 7919) % 1000) * 0.37);
    const sorted = [...values].sort((a, b) => a - b);
    const [p50, p95, p99] = sketchQuantiles(sketch(values), [0.5, 0.95, 0.99]);
    for (const [q, got] of [
      [0.5, p50],
      [0.95, p95],
      [0.99, p99],
    ] as const) {
      const exact = sorted[Math.floor(q * (sorted.length - 1))]!;
      expect(Math.abs(got! - exact) / exact).toBeLessThanOrEqual(SKETCH_RELATIVE_ACCURACY + 1e-9);
    }
  });

  it('orders negative values, zeros and positive values', () => {
    const s = sketch([-100, -1, 0, 0, 5]);
    const [lo, mid, hi] = sketchQuantiles(s, [0, 0.5, 1]);
    expect(lo).toBeCloseTo(-100, 0);
    expect(mid).toBe(0);
    expect(hi).toBeCloseTo(5, 1);
  });

  it('returns undefined for an empty sketch', () => {
    expect(sketchQuantiles(sketch([]), [0.5])).toEqual([undefined]);
  });
});
