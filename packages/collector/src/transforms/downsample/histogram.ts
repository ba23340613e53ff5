/**
 * Histograms of applications (OTLP explicit-bucket and exponential histograms, Prometheus
 * histograms) into a window's quantile sketch, and cumulative histograms into the deltas the
 * window adds. Pure functions over plain data.
 *
 * Error bounds (quantile ranks are exact: every observation lands in the sketch in bucket order):
 * - Exponential buckets at scale s cover (b^i, b^(i+1)], b = 2^(2^-s). A bucket's count goes to
 *   the value 2·b^(i+1)/(1+b), within (b-1)/(b+1) of every value in the bucket (DDSketch's own
 *   choice of representative), then into the sketch's bin (1% more). So a quantile is within
 *   (1 + (b-1)/(b+1))·1.01 - 1 of the true one: 1.1% at scale 8, 1.5% at 6, 2.1% at 5, 3.2% at 4
 *   (OpenTelemetry SDKs start at scale 20 and lower it only to fit 160 buckets).
 * - Explicit buckets say nothing about where in (lower, upper] the values lie. As Prometheus'
 *   histogram_quantile does, they are taken as spread evenly over the bucket (up to 64 points per
 *   bucket), so quantiles match that linear interpolation within the sketch's 1%; against the true
 *   values the bound is the bucket's width. The open-ended first and last buckets are closed by
 *   the point's min and max when given; otherwise the first starts at 0 (when its upper bound is
 *   positive) and the last is its lower bound.
 */
import type { QuantileSketch } from './sketch.js';

export interface ExplicitHistogram {
  kind: 'explicit';
  /** Upper bounds, increasing; counts has one more entry (the bucket above the last bound). */
  bounds: readonly number[];
  counts: readonly number[];
  count: number;
  sum?: number;
  min?: number;
  max?: number;
}

export interface ExponentialBuckets {
  /** Index of counts[0]: bucket i covers (base^i, base^(i+1)]. */
  offset: number;
  counts: readonly number[];
}

export interface ExponentialHistogram {
  kind: 'exponential';
  scale: number;
  zeroCount: number;
  positive: ExponentialBuckets;
  negative: ExponentialBuckets;
  count: number;
  sum?: number;
  min?: number;
  max?: number;
}

export type Histogram = ExplicitHistogram | ExponentialHistogram;

/** Points spread over an explicit bucket at most: enough for the sketch's 1% bins over a bucket's usual width. */
const MAX_POINTS_PER_BUCKET = 64;
/**
 * Buckets one side of an exponential delta may span: two points of a series compare over the
 * union of their bucket ranges, which their offsets set. SDKs keep a point within 160 buckets; two
 * points 50,000,000 buckets apart (an application can send that) made a 50 M-entry array, 3.7 GB
 * and 8 s, and 4e9 apart killed the process. Wider deltas are taken at a coarser scale.
 */
const MAX_DELTA_BUCKETS = 2048;
/** The coarsest scale OTLP allows (map-metrics refuses others). */
const MIN_SCALE = -10;

/** Adds every observation of `h` to the sketch (see the error bounds above). */
export function addHistogram(sketch: QuantileSketch, h: Histogram): void {
  if (h.kind === 'exponential') addExponential(sketch, h);
  else addExplicit(sketch, h);
}

function addExponential(sketch: QuantileSketch, h: ExponentialHistogram): void {
  const base = 2 ** (2 ** -h.scale);
  const rep = (i: number): number => (2 * base ** (i + 1)) / (1 + base);
  if (h.zeroCount > 0) sketch.add(0, h.zeroCount);
  h.positive.counts.forEach((c, j) => {
    if (c > 0) sketch.add(rep(h.positive.offset + j), c);
  });
  h.negative.counts.forEach((c, j) => {
    if (c > 0) sketch.add(-rep(h.negative.offset + j), c);
  });
}

function addExplicit(sketch: QuantileSketch, h: ExplicitHistogram): void {
  const n = h.counts.length;
  for (let i = 0; i < n; i++) {
    const c = h.counts[i] as number;
    if (c <= 0) continue;
    const [lo, hi] = bucketRange(h, i);
    if (!(hi > lo)) {
      sketch.add(hi, c);
      continue;
    }
    // c points at the middles of m equal slices of the bucket, each slice's share of c whole.
    const m = Math.min(c, MAX_POINTS_PER_BUCKET);
    for (let k = 0; k < m; k++) {
      const share = Math.floor(((k + 1) * c) / m) - Math.floor((k * c) / m);
      if (share > 0) sketch.add(lo + ((k + 0.5) / m) * (hi - lo), share);
    }
  }
}

/** Where bucket i's values are taken to lie: its bounds, closed by min and max, clamped to them. */
function bucketRange(h: ExplicitHistogram, i: number): [number, number] {
  const b = h.bounds;
  const last = b.length;
  let lo: number;
  let hi: number;
  if (i === 0) {
    hi = b.length > 0 ? (b[0] as number) : (h.max ?? h.min ?? 0);
    lo = h.min ?? (hi > 0 ? 0 : hi);
  } else if (i === last) {
    lo = b[last - 1] as number;
    hi = h.max ?? lo;
  } else {
    lo = b[i - 1] as number;
    hi = b[i] as number;
  }
  if (h.min !== undefined && lo < h.min) lo = h.min;
  if (h.max !== undefined && hi > h.max) hi = h.max;
  if (lo > hi) lo = hi;
  return [lo, hi];
}

/**
 * Estimated sum, min and max of a histogram that did not carry them (OTLP leaves sum out when
 * values can be negative; Prometheus has no min or max): from the buckets' ranges.
 */
export function histogramStats(h: Histogram): { sum: number; min: number; max: number } {
  if (h.kind === 'explicit') {
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    h.counts.forEach((c, i) => {
      if (c <= 0) return;
      const [lo, hi] = bucketRange(h, i);
      sum += (c * (lo + hi)) / 2;
      if (lo < min) min = lo;
      if (hi > max) max = hi;
    });
    return { sum: h.sum ?? sum, min: h.min ?? min, max: h.max ?? max };
  }
  const base = 2 ** (2 ** -h.scale);
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  const side = (buckets: ExponentialBuckets, sign: 1 | -1) =>
    buckets.counts.forEach((c, j) => {
      if (c <= 0) return;
      const i = buckets.offset + j;
      const [a, b] = [sign * base ** i, sign * base ** (i + 1)];
      sum += (c * 2 * sign * base ** (i + 1)) / (1 + base);
      min = Math.min(min, a, b);
      max = Math.max(max, a, b);
    });
  side(h.positive, 1);
  side(h.negative, -1);
  if (h.zeroCount > 0) {
    min = Math.min(min, 0);
    max = Math.max(max, 0);
  }
  return { sum: h.sum ?? sum, min: h.min ?? min, max: h.max ?? max };
}

export type DeltaResult =
  | { ok: true; delta: Histogram; reset: boolean }
  /** The bucket layout changed (explicit bounds differ): no delta can be told; the current point becomes the base. */
  | { ok: false };

/**
 * What a cumulative histogram added since the previous point of its series. A smaller count, or a
 * bucket that went down, is a reset (the application restarted): the whole point is the delta, as
 * for counters. Exponential histograms of different scales are compared at the coarser one.
 */
export function histogramDelta(cur: Histogram, prev: Histogram): DeltaResult {
  if (cur.count < prev.count) return { ok: true, delta: cur, reset: true };
  if (cur.kind === 'explicit' && prev.kind === 'explicit') {
    if (!sameBounds(cur.bounds, prev.bounds)) return { ok: false };
    const counts = cur.counts.map((c, i) => c - (prev.counts[i] as number));
    if (counts.some((c) => c < 0)) return { ok: true, delta: cur, reset: true };
    return {
      ok: true,
      reset: false,
      delta: {
        kind: 'explicit',
        bounds: cur.bounds,
        counts,
        count: cur.count - prev.count,
        ...deltaSum(cur, prev),
        ...windowExtremes(cur, prev),
      },
    };
  }
  if (cur.kind === 'exponential' && prev.kind === 'exponential') {
    let scale = Math.min(cur.scale, prev.scale);
    // The span at the scale the loop stops at is kept from it, not computed again after.
    let span = deltaSpan(cur, prev, scale);
    while (scale > MIN_SCALE && span > MAX_DELTA_BUCKETS) span = deltaSpan(cur, prev, --scale);
    if (span > MAX_DELTA_BUCKETS) return { ok: true, delta: cur, reset: true };
    const a = downscale(cur, scale);
    const b = downscale(prev, scale);
    const positive = subtract(a.positive, b.positive);
    const negative = subtract(a.negative, b.negative);
    const zeroCount = a.zeroCount - b.zeroCount;
    if (positive === undefined || negative === undefined || zeroCount < 0) return { ok: true, delta: cur, reset: true };
    return {
      ok: true,
      reset: false,
      delta: {
        kind: 'exponential',
        scale,
        zeroCount,
        positive,
        negative,
        count: cur.count - prev.count,
        ...deltaSum(cur, prev),
        ...windowExtremes(cur, prev),
      },
    };
  }
  return { ok: false };
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function deltaSum(cur: Histogram, prev: Histogram): { sum?: number } {
  return cur.sum !== undefined && prev.sum !== undefined ? { sum: cur.sum - prev.sum } : {};
}

/**
 * A cumulative point's min and max are over the whole series' life; they hold for the delta only
 * when they changed with this point (a new extreme fell in it). Otherwise they are left out and
 * estimated from the buckets.
 */
function windowExtremes(cur: Histogram, prev: Histogram): { min?: number; max?: number } {
  const out: { min?: number; max?: number } = {};
  if (cur.min !== undefined && prev.min !== undefined && cur.min < prev.min) out.min = cur.min;
  if (cur.max !== undefined && prev.max !== undefined && cur.max > prev.max) out.max = cur.max;
  return out;
}

/** Buckets the wider side of a delta of `a` and `b` spans at `scale` (at or below both of theirs). */
function deltaSpan(a: ExponentialHistogram, b: ExponentialHistogram, scale: number): number {
  const side = (pick: (h: ExponentialHistogram) => ExponentialBuckets): number => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const h of [a, b]) {
      const s = pick(h);
      if (s.counts.length === 0) continue;
      // Math.floor(i / 2^k), not i >> k: offsets are not bounded to 32 bits here.
      const k = 2 ** (h.scale - scale);
      lo = Math.min(lo, Math.floor(s.offset / k));
      hi = Math.max(hi, Math.floor((s.offset + s.counts.length - 1) / k));
    }
    return hi >= lo ? hi - lo + 1 : 0;
  };
  return Math.max(
    side((h) => h.positive),
    side((h) => h.negative),
  );
}

/** The same histogram at a coarser scale: bucket i at scale s is bucket i >> (s - t) at scale t. */
function downscale(h: ExponentialHistogram, scale: number): ExponentialHistogram {
  const shift = h.scale - scale;
  if (shift === 0) return h;
  const k = 2 ** shift;
  const side = (b: ExponentialBuckets): ExponentialBuckets => {
    if (b.counts.length === 0) return b;
    // Division, not >>: an index past 32 bits would wrap.
    const offset = Math.floor(b.offset / k);
    const last = Math.floor((b.offset + b.counts.length - 1) / k);
    const counts = new Array<number>(last - offset + 1).fill(0);
    b.counts.forEach((c, j) => {
      const i = Math.floor((b.offset + j) / k) - offset;
      counts[i] = (counts[i] as number) + c;
    });
    return { offset, counts };
  };
  return { ...h, scale, positive: side(h.positive), negative: side(h.negative) };
}

/** a - b bucket by bucket; undefined when a bucket would go negative. */
function subtract(a: ExponentialBuckets, b: ExponentialBuckets): ExponentialBuckets | undefined {
  const offset = a.counts.length === 0 ? b.offset : b.counts.length === 0 ? a.offset : Math.min(a.offset, b.offset);
  const end = Math.max(a.offset + a.counts.length, b.offset + b.counts.length);
  const counts = new Array<number>(Math.max(0, end - offset)).fill(0);
  a.counts.forEach((c, j) => (counts[a.offset + j - offset] = c));
  for (let j = 0; j < b.counts.length; j++) {
    const k = b.offset + j - offset;
    counts[k] = (counts[k] as number) - (b.counts[j] as number);
    if ((counts[k] as number) < 0) return undefined;
  }
  return { offset, counts };
}
