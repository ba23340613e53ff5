/**
 * OTLP metrics into the downsampler's samples (pure): gauges as they are; monotonic cumulative
 * sums as counters (the downsampler takes per-second rates and counts resets, as for Docker
 * counters); delta sums as the rate over their own interval, so a series reads the same whichever
 * temporality its SDK exports; non-monotonic sums (up-down counters) as gauges; explicit and
 * exponential histograms into the window's sketch; summaries' quantiles as gauges with a
 * `quantile` attribute. Every point's series is container x name x attributes (resource.ts).
 */
import type { DropReport } from '../../batch/drops.js';
import type { Histogram } from '../../transforms/downsample/histogram.js';
import type { HistogramSample, Sample } from '../types.js';
import type { OtlpReceiverOptions } from './options.js';
import { readResource, seriesAttributes, type ResourceContext, type ResourceDeps } from './resource.js';
import { attributes, nanosBetween, nanosToMs, num, type KeyValue, type NumLike, type Resource } from './values.js';

interface Point {
  attributes?: KeyValue[] | null;
  startTimeUnixNano?: NumLike;
  timeUnixNano?: NumLike;
}
interface NumberPoint extends Point {
  asDouble?: NumLike;
  asInt?: NumLike;
  value?: string;
}
interface HistogramPoint extends Point {
  count?: NumLike;
  sum?: NumLike;
  min?: NumLike;
  max?: NumLike;
  bucketCounts?: NumLike[] | null;
  explicitBounds?: NumLike[] | null;
}
interface Buckets {
  offset?: NumLike;
  bucketCounts?: NumLike[] | null;
}
interface ExponentialPoint extends Point {
  count?: NumLike;
  sum?: NumLike;
  min?: NumLike;
  max?: NumLike;
  scale?: NumLike;
  zeroCount?: NumLike;
  positive?: Buckets | null;
  negative?: Buckets | null;
}
interface SummaryPoint extends Point {
  quantileValues?: { quantile?: NumLike; value?: NumLike }[] | null;
}
type Temporality = NumLike | 'AGGREGATION_TEMPORALITY_DELTA' | 'AGGREGATION_TEMPORALITY_CUMULATIVE';
interface Metric {
  name?: string | null;
  gauge?: { dataPoints?: NumberPoint[] | null } | null;
  sum?: {
    dataPoints?: NumberPoint[] | null;
    aggregationTemporality?: Temporality;
    isMonotonic?: boolean | null;
  } | null;
  histogram?: { dataPoints?: HistogramPoint[] | null; aggregationTemporality?: Temporality } | null;
  exponentialHistogram?: { dataPoints?: ExponentialPoint[] | null; aggregationTemporality?: Temporality } | null;
  summary?: { dataPoints?: SummaryPoint[] | null } | null;
}
export interface MetricsRequest {
  resourceMetrics?: { resource?: Resource | null; scopeMetrics?: { metrics?: Metric[] | null }[] | null }[] | null;
}

export interface MappedMetrics {
  samples: Sample[];
  histograms: HistogramSample[];
  /** Data points taken. */
  points: number;
  /** Data points refused (partial success), with the first reason. */
  rejected: number;
  message: string;
}

export interface MapContext {
  options: Pick<OtlpReceiverOptions, 'resourceAttributes' | 'maxAttributes' | 'maxAttributeLength'>;
  deps: ResourceDeps;
  report: DropReport;
  /** Receive time (ms): the time of a point that has none. */
  now: number;
}

const DELTA = 1;

/** The data points a request holds (for the item rate limit, before any mapping). */
export function countMetricPoints(req: MetricsRequest): number {
  let n = 0;
  for (const rm of req.resourceMetrics ?? [])
    for (const sm of rm.scopeMetrics ?? [])
      for (const m of sm.metrics ?? [])
        n += (m.gauge ?? m.sum ?? m.histogram ?? m.exponentialHistogram ?? m.summary)?.dataPoints?.length ?? 0;
  return n;
}

export function mapMetrics(req: MetricsRequest, ctx: MapContext): MappedMetrics {
  const out: MappedMetrics = { samples: [], histograms: [], points: 0, rejected: 0, message: '' };
  const reject = (res: ResourceContext, reason: string, what: string, n = 1) => {
    out.rejected += n;
    if (out.message === '') out.message = what;
    ctx.report.drop({ stage: 'otlp.metrics', reason, container: res.container }, n);
  };
  for (const rm of req.resourceMetrics ?? []) {
    const res = readResource(rm.resource, ctx.options, ctx.deps, ctx.report);
    for (const sm of rm.scopeMetrics ?? [])
      for (const m of sm.metrics ?? []) {
        const name = typeof m.name === 'string' ? m.name : '';
        const base = (p: Point) => ({
          container: res.container,
          metric: name,
          ts: nanosToMs(p.timeUnixNano) || ctx.now,
          attrs: seriesAttributes(res, attributes(p.attributes), ctx.options, ctx.report),
        });
        const points = (m.gauge ?? m.sum ?? m.histogram ?? m.exponentialHistogram ?? m.summary)?.dataPoints ?? [];
        if (name === '') {
          reject(res, 'no_name', 'a metric without a name', points.length);
          continue;
        }
        if (m.gauge || m.sum) {
          const monotonic = m.sum?.isMonotonic === true;
          const delta = m.sum ? temporality(m.sum.aggregationTemporality) === DELTA : false;
          for (const p of points as NumberPoint[]) {
            let value = numberValue(p);
            if (!Number.isFinite(value)) {
              reject(res, 'not_finite', `${name}: a point without a finite value`);
              continue;
            }
            let kind: Sample['kind'] = m.sum && monotonic && !delta ? 'counter' : 'gauge';
            if (m.sum && delta) {
              const seconds = nanosBetween(p.startTimeUnixNano, p.timeUnixNano) / 1e9;
              if (!(seconds > 0)) {
                reject(res, 'no_interval', `${name}: a delta point without a start before its time`);
                continue;
              }
              // The rate over the point's own interval; monotonic or not, a delta is a change.
              value /= seconds;
              kind = 'gauge';
            }
            out.samples.push({ ...base(p), value, kind });
            out.points++;
          }
        } else if (m.histogram || m.exponentialHistogram) {
          const t = temporality((m.histogram ?? m.exponentialHistogram)?.aggregationTemporality);
          for (const p of points) {
            const h = m.histogram ? explicit(p as HistogramPoint) : exponential(p as ExponentialPoint);
            if (h === undefined) {
              reject(res, 'bad_histogram', `${name}: a histogram point whose buckets do not add up`);
              continue;
            }
            if (!countsExact(h)) {
              reject(
                res,
                'count_not_exact',
                `${name}: a histogram point with a count that is not a whole number below 2^53`,
              );
              continue;
            }
            out.histograms.push({ ...base(p), temporality: t === DELTA ? 'delta' : 'cumulative', histogram: h });
            out.points++;
          }
        } else if (m.summary) {
          for (const p of points as SummaryPoint[])
            for (const q of p.quantileValues ?? []) {
              const value = num(q.value);
              if (!Number.isFinite(value)) continue;
              const b = base(p);
              out.samples.push({
                ...b,
                attrs: { ...b.attrs, quantile: String(num(q.quantile)) },
                value,
                kind: 'gauge',
              });
              out.points++;
            }
        } else reject(res, 'no_data', `${name}: a metric of no known type`, 1);
      }
  }
  return out;
}

/**
 * OTLP counts are uint64; above 2^53 a double no longer holds them exactly and the protocol carries
 * none (a summary's count and its sketch's bins are safe integers): such a point would be taken
 * with 200 and its series' summary left out at the seal, the client never told.
 */
function countsExact(h: Histogram): boolean {
  const buckets = h.kind === 'explicit' ? h.counts : [...h.positive.counts, ...h.negative.counts, h.zeroCount];
  return Number.isSafeInteger(h.count) && buckets.every((c) => Number.isSafeInteger(c));
}

function temporality(t: Temporality): number {
  if (t === 'AGGREGATION_TEMPORALITY_DELTA') return 1;
  if (t === 'AGGREGATION_TEMPORALITY_CUMULATIVE') return 2;
  return num(t);
}

function numberValue(p: NumberPoint): number {
  if (p.value === 'asInt' || (p.value === undefined && p.asInt !== undefined && p.asInt !== null)) return num(p.asInt);
  if (p.value === 'asDouble' || (p.value === undefined && p.asDouble !== undefined && p.asDouble !== null))
    return num(p.asDouble);
  return NaN;
}

/** Optional double: absent, null or not finite is undefined. */
const opt = (v: NumLike): number | undefined => {
  const n = num(v);
  return Number.isFinite(n) ? n : undefined;
};

function explicit(p: HistogramPoint): Histogram | undefined {
  const counts = (p.bucketCounts ?? []).map(num);
  const bounds = (p.explicitBounds ?? []).map(num);
  const count = num(p.count);
  if (!Number.isFinite(count) || count < 0) return undefined;
  // No buckets: only count and sum are known (the specification allows it).
  if (counts.length === 0)
    return { kind: 'explicit', bounds: [], counts: [count], count, sum: opt(p.sum), min: opt(p.min), max: opt(p.max) };
  if (counts.length !== bounds.length + 1 || !counts.every((c) => Number.isFinite(c) && c >= 0)) return undefined;
  if (!bounds.every((b, i) => Number.isFinite(b) && (i === 0 || b > (bounds[i - 1] as number)))) return undefined;
  return { kind: 'explicit', bounds, counts, count, sum: opt(p.sum), min: opt(p.min), max: opt(p.max) };
}

function exponential(p: ExponentialPoint): Histogram | undefined {
  const buckets = (b: Buckets | null | undefined) => ({
    offset: num(b?.offset ?? 0) || 0,
    counts: (b?.bucketCounts ?? []).map(num),
  });
  const positive = buckets(p.positive);
  const negative = buckets(p.negative);
  const count = num(p.count);
  const scale = num(p.scale ?? 0) || 0;
  const zeroCount = num(p.zeroCount ?? 0) || 0;
  const ok = (c: number) => Number.isFinite(c) && c >= 0;
  // OTLP's scale and offsets are sint32: a fraction or an index past 32 bits is no histogram.
  const int32 = (i: number) => Number.isInteger(i) && i >= -(2 ** 31) && i < 2 ** 31;
  if (
    !ok(count) ||
    !ok(zeroCount) ||
    !Number.isInteger(scale) ||
    scale < -10 ||
    scale > 20 ||
    !int32(positive.offset) ||
    !int32(negative.offset) ||
    !positive.counts.every(ok) ||
    !negative.counts.every(ok)
  )
    return undefined;
  return {
    kind: 'exponential',
    scale,
    zeroCount,
    positive,
    negative,
    count,
    sum: opt(p.sum),
    min: opt(p.min),
    max: opt(p.max),
  };
}
