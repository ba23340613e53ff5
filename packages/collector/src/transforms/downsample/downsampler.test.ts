/**
 * Downsampling on real series: the Numenta Anomaly Benchmark (../shared/corpora/nab, MIT). The
 * corpus is read in place; the suite needs it and is skipped only outside CI where it is absent.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DDSketch, type DropCount, type MetricSummary } from '@edge-telemetry/protocol';
import { describe, expect, it } from 'vitest';
import type { Sample } from '../../sources/types.js';
import { ddSketchOps } from './ddsketch-ops.js';
import { Downsampler } from './downsampler.js';
import { resolveDownsampleOptions } from './options.js';
import { rollup } from './merge.js';
import { shortestSum } from './series.js';

const NAB = path.resolve(import.meta.dirname, '../../../../../../shared/corpora/nab/data');
const haveNab = existsSync(NAB);
if (process.env.CI && !haveNab) throw new Error(`NAB corpus missing at ${NAB}`);

interface Point {
  ts: number;
  value: number;
}

function loadSeries(): Array<{ name: string; points: Point[] }> {
  const out: Array<{ name: string; points: Point[] }> = [];
  for (const sub of ['realKnownCause', 'realAWSCloudwatch']) {
    for (const f of readdirSync(path.join(NAB, sub))
      .filter((x) => x.endsWith('.csv'))
      .sort()) {
      const lines = readFileSync(path.join(NAB, sub, f), 'utf8')
        .trim()
        .split('\n')
        .slice(1);
      const points = lines.map((l) => {
        const [t, v] = l.split(',');
        return { ts: Date.parse(`${(t as string).replace(' ', 'T')}Z`), value: Number(v) };
      });
      out.push({ name: f.replace(/\.csv$/, ''), points });
    }
  }
  return out;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Feeds points one scrape at a time and flushes at every window boundary, as the collector does; exact values unless `significantDigits` says otherwise. */
function downsample(
  points: Point[],
  metric: string,
  windowMs: number,
  kind: Sample['kind'] = 'gauge',
  significantDigits = 0,
): MetricSummary[] {
  const d = new Downsampler(
    { windowMs, significantDigits },
    { sketches: ddSketchOps, report: { drop: () => undefined } },
  );
  const out: MetricSummary[] = [];
  let windowEnd = Math.floor((points[0] as Point).ts / windowMs) * windowMs + windowMs;
  for (const p of points) {
    while (p.ts >= windowEnd) {
      out.push(...d.flush(windowEnd));
      windowEnd += windowMs;
    }
    d.ingest('nab', { samples: [{ container: 'nab', metric, value: p.value, ts: p.ts, kind }] });
  }
  out.push(...d.flush(windowEnd));
  return out;
}

/** The raw values of each window, grouped independently of the downsampler. */
function rawWindows(points: Point[], windowMs: number): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (const p of points) {
    const start = Math.floor(p.ts / windowMs) * windowMs;
    const arr = m.get(start) ?? [];
    arr.push(p.value);
    m.set(start, arr);
  }
  return m;
}

describe.runIf(haveNab)('downsampling the NAB series', () => {
  const series = haveNab ? loadSeries() : [];

  it('keeps min, max, count, sum (less binary noise) and last exact per window, and quantiles within 1%', () => {
    expect(series.length).toBe(24);
    // Mismatches are collected and asserted once: ~15,000 windows x 9 checks through expect() is slow.
    const wrong: string[] = [];
    let windows = 0;
    for (const { name, points } of series) {
      const got = downsample(points, name, HOUR).filter((s) => s.count > 0);
      const raw = rawWindows(points, HOUR);
      if (got.length !== raw.size) wrong.push(`${name}: ${got.length} windows, raw has ${raw.size}`);
      for (const s of got) {
        const vals = raw.get(s.start) ?? [];
        const exact = {
          len: HOUR,
          count: vals.length,
          min: Math.min(...vals),
          max: Math.max(...vals),
          last: vals[vals.length - 1],
          sum: shortestSum(vals.reduce((a, b) => a + b, 0)),
        };
        const seen = { len: s.end - s.start, count: s.count, min: s.min, max: s.max, last: s.last, sum: s.sum };
        if (JSON.stringify(seen) !== JSON.stringify(exact))
          wrong.push(`${name}@${s.start}: ${JSON.stringify(seen)} != ${JSON.stringify(exact)}`);
        const sketch = DDSketch.fromData(s.sketch as NonNullable<MetricSummary['sketch']>);
        const sorted = [...vals].sort((a, b) => a - b);
        for (const q of [0.5, 0.95, 0.99]) {
          const want = sorted[Math.floor(q * (sorted.length - 1))] as number;
          const est = sketch.quantile(q);
          if (Math.abs(est - want) > Math.abs(want) * 0.01 + 1e-9)
            wrong.push(`${name}@${s.start} p${q * 100}: ${est} vs ${want}`);
        }
        windows++;
      }
    }
    expect(wrong).toEqual([]);
    expect(windows).toBeGreaterThan(10_000);
  });

  it('by default rounds sum, min, max and last to 4 significant digits: within 5e-4 of exact, min <= last <= max', () => {
    const wrong: string[] = [];
    let changed = 0;
    for (const { name, points } of series) {
      const exact = downsample(points, name, HOUR);
      const rounded = downsample(points, name, HOUR, 'gauge', resolveDownsampleOptions().significantDigits);
      rounded.forEach((s, i) => {
        const e = exact[i] as MetricSummary;
        for (const k of ['sum', 'min', 'max', 'last'] as const) {
          if (Math.abs(s[k] - e[k]) > Math.abs(e[k]) * 5e-4) wrong.push(`${name}@${s.start} ${k}: ${s[k]} vs ${e[k]}`);
          if (s[k] !== e[k]) changed++;
        }
        if (s.count > 0 && !(s.min <= s.last && s.last <= s.max))
          wrong.push(`${name}@${s.start}: min ${s.min} last ${s.last} max ${s.max}`);
        if (JSON.stringify(s.sketch) !== JSON.stringify(e.sketch) || s.count !== e.count)
          wrong.push(`${name}@${s.start}: sketch or count differs`);
      });
    }
    expect(wrong).toEqual([]);
    expect(changed).toBeGreaterThan(1000);
  });

  it('merges hourly windows into daily ones equal to daily windows computed from the raw series', () => {
    for (const { name, points } of series) {
      const merged = rollup(downsample(points, name, HOUR), DAY, ddSketchOps).sort((a, b) => a.start - b.start);
      const direct = downsample(points, name, DAY).filter((s) => s.count > 0 || s.gaps > 0);
      expect(merged.length).toBe(direct.length);
      for (let i = 0; i < direct.length; i++) {
        const m = merged[i] as MetricSummary;
        const d = direct[i] as MetricSummary;
        expect({ ...m, sum: 0 }).toEqual({ ...d, sum: 0 });
        // Sums of partial sums round differently in the last bits; everything else is bit-exact, the sketch included.
        expect(m.sum).toBeCloseTo(d.sum, Math.max(0, 9 - Math.ceil(Math.log10(Math.abs(d.sum) + 1))));
      }
    }
  });

  it('turns a counter into per-second rates across resets, never negative', () => {
    // A byte counter whose rate is the NAB network series itself; the counter restarts from zero three times.
    const { points } = series.find((s) => s.name === 'ec2_network_in_257a54') as { points: Point[] };
    const resetAt = new Set([500, 1500, 3000]);
    let c = 0;
    const counter: Point[] = points.map((p, i) => {
      const dt = i === 0 ? 0 : (p.ts - (points[i - 1] as Point).ts) / 1000;
      c = resetAt.has(i) ? p.value * dt : c + p.value * dt;
      return { ts: p.ts, value: c };
    });
    const got = downsample(counter, 'net.rx_bytes', HOUR, 'counter');
    expect(got.every((s) => s.metric === 'net.rx_bytes_per_s')).toBe(true);
    expect(got.reduce((a, s) => a + s.resets, 0)).toBe(3);
    expect(got.every((s) => s.count === 0 || s.min >= 0)).toBe(true);
    // Rates equal the source series (the first point yields no rate: it has no predecessor).
    const raw = rawWindows(points.slice(1), HOUR);
    for (const s of got.filter((x) => x.count > 0)) {
      const vals = raw.get(s.start) as number[];
      expect(s.count).toBe(vals.length);
      expect(s.max).toBeCloseTo(Math.max(...vals), 3);
      expect(s.min).toBeCloseTo(Math.min(...vals), 3);
    }
  });
});

describe('gaps, cardinality and memory bounds', () => {
  const sample = (container: string, metric: string, value: number, ts: number): Sample => ({
    container,
    metric,
    value,
    ts,
    kind: 'gauge',
  });

  it('marks a gap for each scrape without a sample and never fills it in', () => {
    const d = new Downsampler({ windowMs: 60_000 }, { sketches: ddSketchOps, report: { drop: () => undefined } });
    d.ingest('docker', { samples: [sample('a', 'cpu.usage_pct', 10, 0), sample('b', 'cpu.usage_pct', 5, 0)] });
    d.ingest('docker', { samples: [sample('a', 'cpu.usage_pct', 30, 10_000)] });
    d.ingest('docker', { samples: [sample('a', 'cpu.usage_pct', 20, 20_000)] });
    // Another source's scrape must not mark docker series as gaps.
    d.ingest('host', { samples: [sample('', 'load.1m', 1, 20_000)] });
    const out = d.flush(60_000);
    const b = out.find((s) => s.container === 'b');
    expect(b).toMatchObject({ count: 1, sum: 5, gaps: 2, last: 5 });
    expect(out.find((s) => s.container === 'a')).toMatchObject({ count: 3, gaps: 0, min: 10, max: 30, last: 20 });
    // A window where the series only has gaps is still sent: count 0 says "absent", not "zero".
    d.ingest('docker', { samples: [sample('a', 'cpu.usage_pct', 1, 60_000)] });
    expect(d.flush(120_000).find((s) => s.container === 'b')).toMatchObject({ count: 0, gaps: 1 });
  });

  it('caps the number of series and counts the overflow per container', () => {
    const drops: DropCount[] = [];
    const d = new Downsampler(
      { maxSeries: 3 },
      { sketches: ddSketchOps, report: { drop: (x, n = 1) => drops.push({ ...x, count: n }) } },
    );
    d.ingest('docker', { samples: ['a', 'b', 'c', 'd', 'e'].map((c) => sample(c, 'm', 1, 0)) });
    d.ingest('docker', { samples: [sample('d', 'm', 2, 10_000), sample('a', 'm', Number.NaN, 10_000)] });
    expect(d.seriesCount).toBe(3);
    expect(drops.filter((x) => x.stage === 'metrics.cardinality')).toEqual([
      { stage: 'metrics.cardinality', reason: 'series_cap', container: 'd', count: 1 },
      { stage: 'metrics.cardinality', reason: 'series_cap', container: 'e', count: 1 },
      { stage: 'metrics.cardinality', reason: 'series_cap', container: 'd', count: 1 },
    ]);
    expect(drops.filter((x) => x.reason === 'not_finite')).toHaveLength(1);
  });

  it("caps a container's share of a source's series, and gives it back when its series are forgotten", () => {
    const drops: DropCount[] = [];
    const d = new Downsampler(
      { windowMs: 60_000, evictAfterWindows: 1 },
      { sketches: ddSketchOps, report: { drop: (x, n = 1) => drops.push({ ...x, count: n }) } },
    );
    const caps = { gaps: false, maxSeries: 6, maxContainerSeries: 3 };
    const metrics = (container: string, n: number, ts: number) =>
      Array.from({ length: n }, (_, i) => sample(container, `m${i}`, 1, ts));
    // 'boom' explodes first: it takes its 3, and 'calm' and 'late' still find room beside it.
    d.ingest('otlp', { samples: metrics('boom', 10, 0) }, caps);
    d.ingest('otlp', { samples: metrics('calm', 2, 0) }, caps);
    d.ingest('otlp', { samples: metrics('late', 2, 0) }, caps);
    expect(d.seriesCount).toBe(6);
    expect(drops.filter((x) => x.reason === 'container_series_cap')).toHaveLength(7);
    expect(drops.filter((x) => x.container !== 'boom' && x.container !== 'late')).toEqual([]);
    // The source's own cap still binds: 'late' got 1 of its 2 (3 + 2 + 1 = 6).
    expect(drops.filter((x) => x.container === 'late')).toEqual([
      { stage: 'metrics.cardinality', reason: 'source_series_cap', container: 'late', count: 1 },
    ]);
    // A window later 'boom' sends nothing more: its series are forgotten, and so is its share.
    d.flush(60_000);
    d.flush(120_000);
    expect(d.seriesCount).toBe(0);
    d.ingest('otlp', { samples: metrics('boom', 3, 120_000) }, caps);
    expect(d.seriesCount).toBe(3);
  });

  it('caps the sources of one group together (the Prometheus targets), and frees their share when their series are forgotten', () => {
    const drops: DropCount[] = [];
    const d = new Downsampler(
      { windowMs: 60_000, evictAfterWindows: 1 },
      { sketches: ddSketchOps, report: { drop: (x, n = 1) => drops.push({ ...x, count: n }) } },
    );
    const group = { maxGroupSeries: 4 };
    const metrics = (container: string, n: number, ts: number) =>
      Array.from({ length: n }, (_, i) => sample(container, `m${i}`, 1, ts));
    d.ingest('prometheus/a', { samples: metrics('a', 3, 0) }, group);
    d.ingest('prometheus/b', { samples: metrics('b', 3, 0) }, group);
    // The containers' own metrics are another source: the targets' cap leaves them their room.
    d.ingest('docker', { samples: metrics('c', 3, 0) });
    expect(d.seriesCount).toBe(4 + 3);
    // 'b' got 1 of its 3 beside a's 3.
    const over = { stage: 'metrics.cardinality', reason: 'source_series_cap', container: 'b', count: 1 };
    expect(drops).toEqual([over, over]);
    d.flush(60_000);
    d.flush(120_000);
    expect(d.seriesCount).toBe(0);
    d.ingest('prometheus/b', { samples: metrics('b', 4, 120_000) }, group);
    expect(d.seriesCount).toBe(4);
  });

  it('forgets series of containers that are gone, so churn does not grow memory', () => {
    const d = new Downsampler(
      { windowMs: 60_000, evictAfterWindows: 2 },
      { sketches: ddSketchOps, report: { drop: () => undefined } },
    );
    for (let w = 0; w < 20; w++) {
      // Every window a new container appears and the previous one goes away.
      d.ingest('docker', { samples: [sample(`c${w}`, 'mem.usage_bytes', w, w * 60_000)] });
      d.flush((w + 1) * 60_000);
      expect(d.seriesCount).toBeLessThanOrEqual(3);
    }
  });

  it('bounds the sketch of a series by its bin cap whatever the value spread', () => {
    const d = new Downsampler({}, { sketches: ddSketchOps, report: { drop: () => undefined } });
    const samples: Sample[] = [];
    for (let i = 0; i < 20_000; i++) samples.push(sample('x', 'spread', 10 ** ((i % 600) - 300), i));
    d.ingest('s', { samples });
    const [s] = d.flush(60_000);
    const bins = (s?.sketch?.positive.counts.length ?? 0) + (s?.sketch?.negative.counts.length ?? 0);
    expect(bins).toBeLessThanOrEqual(4096);
    expect(s?.count).toBe(20_000);
  });
});
