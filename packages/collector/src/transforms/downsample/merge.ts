import type { MetricSummary } from '@edge-telemetry/protocol';
import type { SketchOps } from './sketch.js';
import { shortestSum } from './series.js';

/**
 * Merges windows of one series into one coarser window [start, end). Count, sum, min, max, gaps
 * and resets combine exactly; `last` is the latest window's; sketches merge bin by bin, so the
 * result equals the window computed from the raw samples (sum up to floating-point addition order)
 * when the parts are exact (downsample.significantDigits 0); from rounded parts it is as close as
 * they are.
 */
export function mergeWindows(
  parts: readonly MetricSummary[],
  start: number,
  end: number,
  sketches: Pick<SketchOps, 'merge'>,
): MetricSummary {
  const first = parts[0];
  if (first === undefined) throw new RangeError('mergeWindows needs at least one window');
  const sorted = [...parts].sort((a, b) => a.start - b.start);
  const out: MetricSummary = {
    container: first.container,
    metric: first.metric,
    start,
    end,
    count: 0,
    sum: 0,
    min: 0,
    max: 0,
    last: 0,
    gaps: 0,
    resets: 0,
  };
  for (const p of sorted) {
    out.gaps += p.gaps;
    out.resets += p.resets;
    if (p.count === 0) continue;
    out.min = out.count === 0 ? p.min : Math.min(out.min, p.min);
    out.max = out.count === 0 ? p.max : Math.max(out.max, p.max);
    out.count += p.count;
    out.sum += p.sum;
    out.last = p.last;
    if (p.sketch) out.sketch = out.sketch ? sketches.merge(out.sketch, p.sketch) : p.sketch;
  }
  out.sum = shortestSum(out.sum);
  if (first.attrs !== undefined) out.attrs = first.attrs;
  return out;
}

/** Groups windows by series and by the `tierMs` window they fall in, and merges each group. */
export function rollup(
  summaries: readonly MetricSummary[],
  tierMs: number,
  sketches: Pick<SketchOps, 'merge'>,
): MetricSummary[] {
  const groups = new Map<string, MetricSummary[]>();
  for (const s of summaries) {
    const tierStart = Math.floor(s.start / tierMs) * tierMs;
    const key = `${s.container}\u0000${s.metric}\u0000${tierStart}\u0000${s.attrs ? JSON.stringify(s.attrs) : ''}`;
    const g = groups.get(key);
    if (g) g.push(s);
    else groups.set(key, [s]);
  }
  const out: MetricSummary[] = [];
  for (const g of groups.values()) {
    const tierStart = Math.floor((g[0] as MetricSummary).start / tierMs) * tierMs;
    out.push(mergeWindows(g, tierStart, tierStart + tierMs, sketches));
  }
  return out;
}
