import { describe, expect, it } from 'vitest';
import { ExpositionParser, type ExpositionFormat } from './exposition-parser.js';
import { explicitHistogram, FamilyCollector, type FamilyLimits, type ScrapedHistogram } from './families.js';

const LIMITS: FamilyLimits = { maxSeries: 1000, maxLabels: 30, maxLabelValueLength: 256 };
const TARGET = ['instance', '10.0.0.2:9100', 'job', 'docker'];

function collect(body: string, format: ExpositionFormat = 'text', limits: Partial<FamilyLimits> = {}) {
  const f = new FamilyCollector({ ...LIMITS, ...limits }, TARGET);
  const p = new ExpositionParser({ format, maxLineBytes: 65536 }, f);
  p.push(body);
  p.end();
  const histograms = f.finish();
  const points = Object.fromEntries(f.points.map((x) => [`${x.metric}${JSON.stringify(x.labels)}`, x]));
  return { f, histograms, points, drops: Object.fromEntries(f.drops) };
}

describe('FamilyCollector', () => {
  it('places each line in its family: counters, gauges, summary parts, histogram buckets', () => {
    const { f, histograms, drops } = collect(`# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 100.5
# TYPE node_load1 gauge
node_load1 0.25
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 0.01
rpc_duration_seconds_sum 12.5
rpc_duration_seconds_count 42
# TYPE req_seconds histogram
req_seconds_bucket{handler="/",le="0.1"} 3
req_seconds_bucket{handler="/",le="1"} 5
req_seconds_bucket{handler="/",le="+Inf"} 6
req_seconds_sum{handler="/"} 2.5
req_seconds_count{handler="/"} 6
untyped_thing 7
`);
    expect(drops).toEqual({});
    expect(f.points.map((p) => [p.metric, p.kind])).toEqual([
      ['node_cpu_seconds_total', 'counter'],
      ['node_load1', 'gauge'],
      ['rpc_duration_seconds', 'gauge'],
      ['rpc_duration_seconds_sum', 'counter'],
      ['rpc_duration_seconds_count', 'counter'],
      ['req_seconds_sum', 'counter'],
      ['req_seconds_count', 'counter'],
      ['untyped_thing', 'gauge'],
    ]);
    // Sorted by label name, the target's instance and job among them.
    expect(f.points[0]?.labels).toEqual(['cpu', '0', 'instance', '10.0.0.2:9100', 'job', 'docker', 'mode', 'idle']);
    expect(f.points[2]?.labels).toContain('quantile');
    expect(histograms).toEqual([
      {
        metric: 'req_seconds',
        labels: ['handler', '/', 'instance', '10.0.0.2:9100', 'job', 'docker'],
        bounds: [0.1, 1, Infinity],
        counts: [3, 5, 6],
        sum: 2.5,
      },
    ]);
  });

  it('reads OpenMetrics counters (_total), skips _created, keeps info and stateset as gauges', () => {
    const { f } = collect(
      `# TYPE foo counter
foo_total 17
foo_created 1520430000
# TYPE build info
build_info{version="1.2"} 1
# TYPE door stateset
door{door="open"} 1
door{door="closed"} 0
# EOF
`,
      'openmetrics',
    );
    expect(f.points.map((p) => [p.metric, p.kind])).toEqual([
      ['foo_total', 'counter'],
      ['build_info', 'gauge'],
      ['door', 'gauge'],
      ['door', 'gauge'],
    ]);
  });

  it("keeps a target's own instance and job as exported_*", () => {
    const { f } = collect('up_like{instance="app-1",job="x",zone="a"} 1\n');
    expect(f.points[0]?.labels).toEqual([
      'exported_instance',
      'app-1',
      'exported_job',
      'x',
      'instance',
      '10.0.0.2:9100',
      'job',
      'docker',
      'zone',
      'a',
    ]);
  });

  it('drops and counts duplicates, non-finite values, label excesses and the series over the cap', () => {
    const lines = [
      'a{x="1"} 1',
      'a{x="1"} 2', // duplicate
      'b{y="2",x="1"} 1',
      'b{x="1",y="2"} 1', // the same series, labels in another order
      'c NaN',
      'd +Inf',
      `e{v="${'x'.repeat(300)}"} 1`,
      `f{${Array.from({ length: 31 }, (_, i) => `l${i}="v"`).join(',')}} 1`,
      ...Array.from({ length: 20 }, (_, i) => `g${i} ${i}`),
    ];
    const { f, drops } = collect(`${lines.join('\n')}\n`, 'text', { maxSeries: 10 });
    // NaN and Inf series count towards the cap (the target has them), their values are dropped.
    expect(drops).toEqual({ duplicate: 2, not_finite: 2, label_limit: 2, series_limit: 14 });
    expect(f.points.map((p) => p.metric)).toEqual(['a', 'b', 'g0', 'g1', 'g2', 'g3', 'g4', 'g5']);
  });

  it('drops a point the target timed at or before its previous scrape: duplicate, out_of_order', () => {
    const first = collect('a 1 1000\nb 1 1000\nc 1 1000\nd 1\n');
    expect(first.drops).toEqual({});
    const again = (body: string, previous: ReadonlyMap<string, number>) => {
      const f = new FamilyCollector(LIMITS, TARGET, previous);
      const p = new ExpositionParser({ format: 'text', maxLineBytes: 65536 }, f);
      p.push(body);
      p.end();
      return f;
    };
    const second = again('a 2 2000\nb 1 1000\nc 0 500\nd 2\n', first.f.times);
    expect(second.points.map((p) => [p.metric, p.value])).toEqual([
      ['a', 2],
      ['d', 2],
    ]);
    expect(Object.fromEntries(second.drops)).toEqual({ duplicate: 1, out_of_order: 1 });
    // The newest time of each series stays the reference: c at 800 is still before 1000.
    const third = again('a 3 3000\nb 2 2000\nc 1 800\n', second.times);
    expect(third.points.map((p) => p.metric)).toEqual(['a', 'b']);
    expect(Object.fromEntries(third.drops)).toEqual({ out_of_order: 1 });
  });

  it('gives each histogram its _sum and hands the sketch counts per bucket', () => {
    const { histograms } = collect(`# TYPE req_seconds histogram
req_seconds_bucket{le="0.1"} 3
req_seconds_bucket{le="1"} 5
req_seconds_bucket{le="+Inf"} 6
req_seconds_sum 2.5
req_seconds_count 6
`);
    expect(histograms[0]?.sum).toBe(2.5);
    expect(explicitHistogram(histograms[0] as ScrapedHistogram)).toEqual({
      kind: 'explicit',
      bounds: [0.1, 1],
      counts: [3, 2, 1],
      count: 6,
      sum: 2.5,
    });
  });

  it('refuses malformed histograms: no +Inf, counts going down, bad le', () => {
    const { histograms, drops } = collect(`# TYPE h histogram
h_bucket{k="no-inf",le="1"} 1
h_bucket{k="down",le="1"} 5
h_bucket{k="down",le="+Inf"} 4
h_bucket{k="bad-le",le="abc"} 1
h_bucket{k="bad-le",le="+Inf"} 1
h_bucket{k="ok",le="+Inf"} 1
h_bucket{k="ok",le="0.5"} 1
h 3
`);
    expect(histograms.map((h) => h.labels[h.labels.indexOf('k') + 1])).toEqual(['ok']);
    // Buckets in any order are put in order of their bound.
    expect(histograms[0]?.bounds).toEqual([0.5, Infinity]);
    expect(drops).toEqual({ bad_histogram: 4 });
  });
});
