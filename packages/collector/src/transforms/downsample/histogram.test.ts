/**
 * Histograms into the window's sketch, checked against the exact order statistics of the values
 * the histograms were made from: exponential ones made by the OpenTelemetry SDK itself (its
 * ExponentialHistogram aggregation), explicit ones against Prometheus-style linear interpolation.
 */
import { DDSketch } from '@edge-telemetry/protocol';
import { seededRng } from '@edge-telemetry/protocol/testing';
import {
  AggregationType,
  DataPointType,
  InMemoryMetricExporter,
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ExponentialHistogram as OtelExponential,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { addHistogram, histogramDelta, type ExplicitHistogram, type ExponentialHistogram } from './histogram.js';
import { Downsampler } from './downsampler.js';
import { ddSketchOps } from './ddsketch-ops.js';
import type { DropCount } from '@edge-telemetry/protocol';

const QS = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99];

/** The exact value at rank floor(q (n - 1)), as the sketch defines its quantiles. */
const exact = (sorted: number[], q: number): number => sorted[Math.floor(q * (sorted.length - 1))] as number;

/** Latency-like values: log-normal, 0.05 ms to some seconds. */
function latencies(n: number, seed: number): number[] {
  const rng = seededRng(seed);
  return Array.from({ length: n }, () => {
    const z = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    return Math.exp(2 + 1.5 * z);
  });
}

async function sdkExponential(values: number[], maxSize: number): Promise<ExponentialHistogram> {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({
    readers: [reader],
    views: [
      { instrumentName: 'h', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize } } },
    ],
  });
  const h = provider.getMeter('test').createHistogram('h');
  for (const v of values) h.record(v);
  await reader.forceFlush();
  const metric = exporter.getMetrics()[0]?.scopeMetrics[0]?.metrics[0];
  await provider.shutdown();
  if (metric?.dataPointType !== DataPointType.EXPONENTIAL_HISTOGRAM) throw new Error('no exponential histogram');
  const dp = metric.dataPoints[0]?.value as OtelExponential;
  return {
    kind: 'exponential',
    scale: dp.scale,
    zeroCount: dp.zeroCount,
    positive: { offset: dp.positive.offset, counts: dp.positive.bucketCounts },
    negative: { offset: dp.negative.offset, counts: dp.negative.bucketCounts },
    count: dp.count,
    sum: dp.sum,
    min: dp.min,
    max: dp.max,
  };
}

describe('exponential histograms into the sketch', () => {
  it("the SDK's histograms give every quantile within the stated bound of the exact value", async () => {
    for (const [maxSize, seed] of [
      [160, 1],
      [40, 2],
      [20, 3],
    ] as const) {
      const values = latencies(20_000, seed);
      const h = await sdkExponential(values, maxSize);
      const base = 2 ** (2 ** -h.scale);
      const bound = (1 + (base - 1) / (base + 1)) * 1.01 - 1;
      const sketch = new DDSketch();
      addHistogram(sketch, h);
      expect(sketch.count).toBe(values.length);
      const sorted = [...values].sort((a, b) => a - b);
      for (const q of QS) {
        const want = exact(sorted, q);
        expect(Math.abs(sketch.quantile(q) - want) / want, `scale ${h.scale}, q ${q}`).toBeLessThanOrEqual(
          bound + 1e-9,
        );
      }
    }
  });

  it('a cumulative series at a finer then coarser scale gives the delta of the coarser one', () => {
    const prev: ExponentialHistogram = {
      kind: 'exponential',
      scale: 3,
      zeroCount: 1,
      positive: { offset: 8, counts: [1, 2, 0, 4] },
      negative: { offset: 0, counts: [] },
      count: 8,
      sum: 30,
    };
    // At scale 2, buckets 8-11 of scale 3 are buckets 4-5.
    const cur: ExponentialHistogram = {
      kind: 'exponential',
      scale: 2,
      zeroCount: 2,
      positive: { offset: 4, counts: [5, 7] },
      negative: { offset: 0, counts: [] },
      count: 14,
      sum: 55,
    };
    const d = histogramDelta(cur, prev);
    expect(d).toMatchObject({
      ok: true,
      reset: false,
      delta: { scale: 2, zeroCount: 1, positive: { offset: 4, counts: [2, 3] }, count: 6, sum: 25 },
    });
    expect(histogramDelta({ ...cur, count: 3, positive: { offset: 4, counts: [1, 0] } }, prev)).toMatchObject({
      ok: true,
      reset: true,
    });
  });

  it('compares two points far apart at a coarser scale, in a bounded number of buckets', () => {
    // Two exports of an application at the ends of OTLP's sint32 offsets: the delta was an array
    // over the whole span (4,294,967,296 entries: thrown; 50 M apart: 3.7 GB and 8 s; 4e9: the
    // process killed out of memory).
    const at = (offset: number, counts: number[], count: number): ExponentialHistogram => ({
      kind: 'exponential',
      scale: 20,
      zeroCount: 0,
      positive: { offset, counts },
      negative: { offset: 0, counts: [] },
      count,
    });
    for (const [cur, prev] of [
      [at(2 ** 31 - 2, [4, 1], 5), at(-(2 ** 31), [3], 3)],
      [at(5_000_000, [4, 1], 5), at(0, [3], 3)],
    ] as const) {
      const d = histogramDelta(cur, prev);
      if (!d.ok || d.delta.kind !== 'exponential') throw new Error('an exponential delta');
      expect(d.delta.positive.counts.length).toBeLessThanOrEqual(2048);
      // The observations are all there: the point itself after a reset, else the difference.
      const total = d.delta.positive.counts.reduce((a, c) => a + c, 0) + d.delta.zeroCount;
      expect(total).toBe(d.reset ? 5 : 2);
    }
    // Near points keep their scale.
    expect(histogramDelta(at(100, [3, 1], 4), at(100, [3], 3))).toMatchObject({
      ok: true,
      reset: false,
      delta: { scale: 20, positive: { offset: 100, counts: [0, 1] } },
    });
  });
});

describe('explicit-bucket histograms into the sketch', () => {
  const bounds = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10_000];

  function explicit(values: number[]): ExplicitHistogram {
    const counts = new Array<number>(bounds.length + 1).fill(0);
    for (const v of values) {
      const i = bounds.findIndex((b) => v <= b);
      const k = i === -1 ? bounds.length : i;
      counts[k] = (counts[k] as number) + 1;
    }
    return {
      kind: 'explicit',
      bounds,
      counts,
      count: values.length,
      sum: values.reduce((a, b) => a + b, 0),
      min: Math.min(...values),
      max: Math.max(...values),
    };
  }

  /** Prometheus' histogram_quantile: linear within the bucket that holds rank q·count. */
  function linear(h: ExplicitHistogram, q: number): number {
    const rank = q * h.count;
    let seen = 0;
    for (let i = 0; i < h.counts.length; i++) {
      const c = h.counts[i] as number;
      if (seen + c >= rank && c > 0) {
        const lo = i === 0 ? (h.min as number) : Math.max(bounds[i - 1] as number, h.min as number);
        const hi = i === bounds.length ? (h.max as number) : Math.min(bounds[i] as number, h.max as number);
        return lo + ((hi - lo) * (rank - seen)) / c;
      }
      seen += c;
    }
    return h.max as number;
  }

  it('quantiles lie in the bucket of the exact value and agree with linear interpolation', () => {
    const values = latencies(10_000, 4);
    const h = explicit(values);
    const sketch = new DDSketch();
    addHistogram(sketch, h);
    expect(sketch.count).toBe(values.length);
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of QS) {
      const got = sketch.quantile(q);
      const want = exact(sorted, q);
      const i = bounds.findIndex((b) => want <= b);
      const lo = i <= 0 ? h.min! : bounds[i - 1]!;
      const hi = i === -1 ? h.max! : bounds[i]!;
      expect(got, `q ${q}`).toBeGreaterThanOrEqual(lo * 0.99);
      expect(got, `q ${q}`).toBeLessThanOrEqual(hi * 1.01);
      // One point in 64 of a bucket and the sketch's 1%.
      const ref = linear(h, q);
      expect(Math.abs(got - ref), `q ${q}`).toBeLessThanOrEqual(0.01 * ref + (hi - lo) / 64);
    }
  });

  it('a changed layout yields no delta, a count that went down a reset', () => {
    const a = explicit([1, 2, 30]);
    const b = explicit([1, 2, 30, 40, 600]);
    expect(histogramDelta(b, a)).toMatchObject({ ok: true, reset: false, delta: { count: 2, sum: 640 } });
    expect(histogramDelta(a, b)).toMatchObject({ ok: true, reset: true, delta: a });
    expect(histogramDelta({ ...b, bounds: [1, 2] }, a)).toEqual({ ok: false });
  });
});

describe('the downsampler with applications’ series', () => {
  const make = (drops: DropCount[] = []) =>
    new Downsampler(
      { windowMs: 60_000, significantDigits: 0, maxSeries: 10 },
      { sketches: ddSketchOps, report: { drop: (d, count = 1) => drops.push({ ...d, count }) } },
    );

  it('attributes are part of the identity, in any key order; without gaps for pushing sources', () => {
    const d = make();
    const g = (value: number, attrs: Record<string, string>, ts: number) =>
      ({ container: 'app', metric: 'queue.depth', value, ts, kind: 'gauge', attrs }) as const;
    d.ingest(
      'otlp',
      { samples: [g(1, { 'service.name': 'a', q: 'x' }, 1), g(2, { q: 'x', 'service.name': 'a' }, 2)] },
      { gaps: false },
    );
    d.ingest('otlp', { samples: [g(5, { 'service.name': 'a', q: 'y' }, 3)] }, { gaps: false });
    d.ingest('docker', { samples: [{ container: 'app', metric: 'queue.depth', value: 9, ts: 3, kind: 'gauge' }] });
    const out = d.flush(60_000);
    expect(out.map((s) => [s.attrs, s.count, s.sum, s.gaps])).toEqual([
      [{ q: 'x', 'service.name': 'a' }, 2, 3, 0],
      [{ q: 'y', 'service.name': 'a' }, 1, 5, 0],
      [undefined, 1, 9, 0],
    ]);
  });

  it('a source over its own cap loses its new series (counted), the others keep theirs', () => {
    const drops: DropCount[] = [];
    const d = make(drops);
    const samples = Array.from({ length: 100 }, (_, i) => ({
      container: '',
      metric: 'm',
      value: i,
      ts: 1,
      kind: 'gauge' as const,
      attrs: { id: String(i) },
    }));
    d.ingest('otlp', { samples }, { gaps: false, maxSeries: 4 });
    d.ingest('docker', { samples: [{ container: 'c', metric: 'cpu', value: 1, ts: 1, kind: 'gauge' }] });
    expect(d.seriesCount).toBe(5);
    expect(drops).toHaveLength(96);
    expect(new Set(drops.map((x) => `${x.stage}/${x.reason}`))).toEqual(
      new Set(['metrics.cardinality/source_series_cap']),
    );
  });

  it('ordered sources drop duplicate and out-of-order points, counted', () => {
    const drops: DropCount[] = [];
    const d = make(drops);
    const at = (ts: number, value: number) => ({
      container: '',
      metric: 'm',
      value,
      ts,
      kind: 'gauge' as const,
      attrs: { a: '1' },
    });
    d.ingest('otlp', { samples: [at(10, 1), at(10, 1), at(5, 7), at(20, 3)] }, { gaps: false, ordered: true });
    expect(d.flush(60_000)[0]).toMatchObject({ count: 2, sum: 4 });
    expect(drops.map((x) => x.reason)).toEqual(['duplicate', 'out_of_order']);
  });

  it('cumulative histograms: the first point is the base, later ones add their differences, resets counted', () => {
    const d = make();
    const point = (ts: number, counts: number[], sum: number) => ({
      container: '',
      metric: 'http.duration',
      ts,
      attrs: { 'service.name': 's' },
      temporality: 'cumulative' as const,
      histogram: {
        kind: 'explicit' as const,
        bounds: [10, 100],
        counts,
        count: counts.reduce((a, b) => a + b, 0),
        sum,
      },
    });
    d.ingest('otlp', { samples: [], histograms: [point(1, [1, 1, 0], 60)] }, { gaps: false });
    d.ingest('otlp', { samples: [], histograms: [point(2, [3, 2, 1], 500)] }, { gaps: false });
    d.ingest('otlp', { samples: [], histograms: [point(3, [1, 0, 0], 5)] }, { gaps: false });
    const [s] = d.flush(60_000);
    expect(s).toMatchObject({ metric: 'http.duration', count: 5, sum: 445, resets: 1 });
    expect(s?.sketch && DDSketch.fromData(s.sketch).count).toBe(5);
  });
});
