import type { MetricSummary } from '@edge-telemetry/protocol';
import type { QuantileSketch, SketchOps } from './sketch.js';
import { addHistogram, histogramStats, type Histogram } from './histogram.js';

/**
 * One series' state: the open window's aggregates plus, for counters, the previous raw value that
 * the next rate is computed from (kept across windows so a rate never depends on where a window
 * boundary falls).
 */
export interface SeriesState {
  readonly container: string;
  /** Output name: counters get `_per_s` appended because they leave as rates. */
  readonly metric: string;
  readonly counter: boolean;
  /** Summarizes histogram points (their observations), not values. */
  readonly histogram: boolean;
  readonly source: string;
  /** Sorted by key; undefined for container series. */
  readonly attrs: Record<string, string> | undefined;
  min: number;
  max: number;
  sum: number;
  count: number;
  last: number;
  resets: number;
  gaps: number;
  sketch: QuantileSketch | null;
  prevValue: number;
  prevTs: number;
  hasPrev: boolean;
  /** A cumulative histogram's previous point, which the next one is the difference from. */
  prevHistogram: Histogram | null;
  /** Time of the latest sample: one at or before it is a duplicate or out of order. */
  lastTs: number;
  /** Scrape sequence number of the last sample, to find the series a scrape did not cover. */
  touched: number;
  /** Raw samples seen in the open window (a counter's first sample yields no rate but is not a gap). */
  seen: number;
  idleWindows: number;
  /** The downsampler's `held` keys this series counts under (its source's, and its container's or group's where capped): given back when it goes. */
  heldUnder: readonly string[];
}

export function newSeries(
  container: string,
  metric: string,
  kind: 'gauge' | 'counter' | 'histogram',
  source: string,
  attrs?: Readonly<Record<string, string>>,
): SeriesState {
  const counter = kind === 'counter';
  return {
    container,
    metric: counter ? `${metric}_per_s` : metric,
    counter,
    histogram: kind === 'histogram',
    source,
    attrs: attrs === undefined ? undefined : sortedAttrs(attrs),
    count: 0,
    sum: 0,
    min: Infinity,
    max: -Infinity,
    last: 0,
    gaps: 0,
    resets: 0,
    sketch: null,
    prevValue: 0,
    prevTs: 0,
    hasPrev: false,
    prevHistogram: null,
    lastTs: -Infinity,
    touched: 0,
    seen: 0,
    idleWindows: 0,
    heldUnder: [],
  };
}

export function recordValue(st: SeriesState, v: number, sketches: SketchOps): void {
  st.count++;
  st.sum += v;
  if (v < st.min) st.min = v;
  if (v > st.max) st.max = v;
  st.last = v;
  (st.sketch ??= sketches.create()).add(v);
}

/**
 * Adds one histogram point's observations: count and sum are the point's, min and max its own when
 * it has them (estimated from its buckets otherwise), last the mean of the point.
 */
export function recordHistogram(st: SeriesState, h: Histogram, sketches: SketchOps): void {
  if (h.count <= 0) return;
  const stats = histogramStats(h);
  st.count += h.count;
  st.sum += stats.sum;
  if (stats.min < st.min) st.min = stats.min;
  if (stats.max > st.max) st.max = stats.max;
  st.last = stats.sum / h.count;
  addHistogram((st.sketch ??= sketches.create()), h);
}

/** Attributes in key order, so that one set of attributes is one series whatever order it came in. */
export function sortedAttrs(attrs: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(attrs).sort()) out[k] = attrs[k] as string;
  return out;
}

/**
 * Turns a cumulative counter value into a per-second rate. A value below the previous one is a
 * reset (process restart, container recreated): the counter restarted from zero, so the increase
 * since the previous sample is at least the new value; the rate is never negative.
 */
export function recordCounter(st: SeriesState, v: number, ts: number, sketches: SketchOps): void {
  if (!st.hasPrev) {
    st.hasPrev = true;
    st.prevValue = v;
    st.prevTs = ts;
    return;
  }
  const dt = (ts - st.prevTs) / 1000;
  if (dt <= 0) return; // a repeated or out-of-order sample carries no rate information
  let increase = v - st.prevValue;
  if (increase < 0) {
    st.resets++;
    increase = v;
  }
  st.prevValue = v;
  st.prevTs = ts;
  recordValue(st, increase / dt, sketches);
}

/**
 * The open window as a summary; count 0 with gaps > 0 marks a window the series was absent for.
 * `digits`: significant digits kept of sum, min, max and last (0 = all; the sum still loses its binary noise).
 */
export function summarize(st: SeriesState, start: number, end: number, digits: number): MetricSummary {
  const value = (v: number): number => (st.count > 0 ? (digits > 0 ? roundSignificant(v, digits) : v) : 0);
  const s: MetricSummary = {
    container: st.container,
    metric: st.metric,
    start,
    end,
    count: st.count,
    sum: digits > 0 ? roundSignificant(st.sum, digits) : shortestSum(st.sum),
    min: value(st.min),
    max: value(st.max),
    last: value(st.last),
    gaps: st.gaps,
    resets: st.resets,
  };
  if (st.sketch) s.sketch = st.sketch.toData();
  if (st.attrs !== undefined && Object.keys(st.attrs).length > 0) s.attrs = st.attrs;
  return s;
}

/**
 * A sum of decimals picks up binary noise (65945.6 arrives as 65945.59999999999), which turns a
 * value the codec sends as a short decimal into a float64 that compresses badly. 15 significant
 * digits drop that noise and nothing the additions themselves have not already blurred.
 */
export function shortestSum(sum: number): number {
  return roundSignificant(sum, 15);
}

/**
 * Rounding is monotonic, so min <= last <= max still holds after it. At 4 digits the error (at
 * most 5e-4 relative) stays far inside the quantile sketch's 1%, and a window of a noisy gauge
 * costs about a fifth fewer bytes on the uplink (bench/uplink-economy).
 */
export function roundSignificant(v: number, digits: number): number {
  return Number.isFinite(v) && v !== 0 ? Number(v.toPrecision(digits)) : v;
}

export function resetWindow(st: SeriesState): void {
  st.idleWindows = st.seen > 0 ? 0 : st.idleWindows + 1;
  st.count = 0;
  st.sum = 0;
  st.min = Infinity;
  st.max = -Infinity;
  st.last = 0;
  st.gaps = 0;
  st.resets = 0;
  st.sketch = null;
  st.seen = 0;
}
