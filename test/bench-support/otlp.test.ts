import { describe, expect, it } from 'vitest';
import { DDSketch, LogLevel, type Batch, type MetricSummary } from '@edge-telemetry/protocol';
import { encodeOtlpLogs, encodeOtlpMetrics } from '../../bench/support/otlp.js';
import { ProtoWriter } from '../../bench/support/protobuf-writer.js';
import { all, attrs, dbl, one, str, sub, subs, walk } from './proto-walk.js';

const T0 = Date.UTC(2026, 0, 1, 12);
const ns = (ms: number) => BigInt(ms) * 1_000_000n;

function summary(container: string, metric: string, values: number[]): MetricSummary {
  const s = new DDSketch();
  values.forEach((v) => s.add(v));
  const sum = values.reduce((a, b) => a + b, 0);
  return {
    container,
    metric,
    start: T0,
    end: T0 + 60_000,
    count: values.length,
    sum,
    min: Math.min(...values),
    max: Math.max(...values),
    last: values.at(-1) as number,
    gaps: 1,
    resets: 0,
    sketch: s.toData(),
  };
}

function batch(): Batch {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  return {
    node: 'n1',
    epoch: 1,
    seq: 7,
    sentAt: T0 + 60_000,
    windowStart: T0,
    windowEnd: T0 + 60_000,
    containers: [{ id: 'abc123', name: 'web-1', image: 'nginx:1.27', state: 'running', labels: { tier: 'front' } }],
    metrics: [summary('web-1', 'cpu.usage_pct', values), summary('', 'mem.usage_bytes', [5, 7])],
    logs: [
      {
        ts: T0 + 1500,
        container: 'web-1',
        level: LogLevel.warn,
        message: 'disk 91% full',
        stream: 'stderr',
        repeat: 3,
        templateId: 't1',
        fields: { path: '/var' },
      },
    ],
    templates: [
      {
        container: 'web-1',
        id: 't2',
        template: 'GET <*> took <*> ms',
        level: LogLevel.info,
        count: 42,
        firstSeen: T0 + 10,
        lastSeen: T0 + 59_000,
        samples: [{ ts: T0 + 20, params: ['/a', '12'] }],
      },
    ],
    events: [],
    drops: [{ stage: 'logs.filter', reason: 'below_level', container: 'web-1', count: 9 }],
    health: {
      uplinkBytes: 100,
      rawBytes: 5000,
      queueBatches: 0,
      queueBytes: 0,
      budgetLeftBytes: -1,
      degradeLevel: 0,
      cpuPct: 1.5,
      rssBytes: 1024,
      agentVersion: '0.1.0',
    },
  };
}

describe('ProtoWriter', () => {
  it("writes varints, negative int64 as ten bytes of two's complement, fixed64 and doubles little-endian", () => {
    const w = new ProtoWriter(4);
    w.uint64(1, 300);
    w.int64(2, -1);
    w.fixed64(3, 2n ** 60n + 5n);
    w.double(4, 0.1);
    w.uint64(5, Number.MAX_SAFE_INTEGER);
    const f = walk(w.finish());
    expect(one(f, 1, 0).int).toBe(300n);
    expect(BigInt.asIntN(64, one(f, 2, 0).int as bigint)).toBe(-1n);
    expect(one(f, 3, 1).int).toBe(2n ** 60n + 5n);
    expect(dbl(one(f, 4, 1))).toBe(0.1);
    expect(one(f, 5, 0).int).toBe(BigInt(Number.MAX_SAFE_INTEGER));
    // -1 as int64 takes the full 10-byte varint after its 1-byte tag.
    const neg = new ProtoWriter();
    neg.int64(1, -1);
    expect(neg.length).toBe(11);
  });

  it('refuses values a varint cannot carry exactly', () => {
    expect(() => new ProtoWriter().uint64(1, 1.5)).toThrow(RangeError);
    expect(() => new ProtoWriter().uint64(1, -2)).toThrow(RangeError);
  });
});

describe('encodeOtlpMetrics (ExportMetricsServiceRequest)', () => {
  const b = batch();
  const req = walk(encodeOtlpMetrics(b) as Uint8Array);
  const resources = subs(req, 1); // resource_metrics = 1
  const byName = (rm: ReturnType<typeof walk>) => attrs(subs(sub(rm, 1), 1)); // resource = 1, attributes = 1

  it('has one ResourceMetrics per container, with the container list on its resource', () => {
    expect(resources.map((rm) => byName(rm)['container.name'] ?? '(host)')).toEqual(['web-1', '(host)']);
    expect(byName(resources[0] as ReturnType<typeof walk>)).toEqual({
      'host.name': 'n1',
      'container.name': 'web-1',
      'container.id': 'abc123',
      'container.image.name': 'nginx:1.27',
      'container.label.tier': 'front',
    });
  });

  it('writes a summary as a Summary metric (field 11) with count, sum, start/end times and quantiles min..max', () => {
    const scope = sub(resources[0] as ReturnType<typeof walk>, 2); // scope_metrics = 2
    expect(str(one(sub(scope, 1), 1, 2))).toBe('edge-telemetry-collector'); // scope.name
    const metric = subs(scope, 2)[0] as ReturnType<typeof walk>; // metrics = 2
    expect(str(one(metric, 1, 2))).toBe('cpu.usage_pct');
    const dp = sub(sub(metric, 11), 1); // summary = 11, data_points = 1
    expect(one(dp, 2, 1).int).toBe(ns(T0)); // start_time_unix_nano
    expect(one(dp, 3, 1).int).toBe(ns(T0 + 60_000)); // time_unix_nano
    expect(one(dp, 4, 1).int).toBe(100n); // count (fixed64)
    expect(dbl(one(dp, 5, 1))).toBe(5050); // sum
    const q = subs(dp, 6).map((vq) => [dbl(one(vq, 1, 1)), dbl(one(vq, 2, 1))] as const); // quantile_values
    expect(q.map(([k]) => k)).toEqual([0, 0.5, 0.95, 0.99, 1]);
    expect(q[0]?.[1]).toBe(1);
    expect(q[4]?.[1]).toBe(100);
    // Sketch quantiles are within the protocol's relative accuracy (1%) of the exact ones.
    expect(Math.abs((q[1]?.[1] as number) / 50 - 1)).toBeLessThan(0.03);
    expect(Math.abs((q[2]?.[1] as number) / 95 - 1)).toBeLessThan(0.03);
    expect(attrs(subs(dp, 7))).toEqual({ gaps: 1n }); // attributes = 7; resets = 0 is left out
  });

  it('puts health gauges (field 5) and the drops as a delta monotonic Sum (field 7) on the host resource', () => {
    const metrics = subs(sub(resources[1] as ReturnType<typeof walk>, 2), 2);
    const names = metrics.map((m) => str(one(m, 1, 2)));
    expect(names).toContain('mem.usage_bytes');
    const budget = metrics[names.indexOf('et.budget.left_bytes')] as ReturnType<typeof walk>;
    const point = sub(sub(budget, 5), 1);
    expect(dbl(one(point, 4, 1))).toBe(-1); // as_double
    expect(one(point, 3, 1).int).toBe(ns(T0 + 60_000));
    const drops = sub(metrics[names.indexOf('et.drops')] as ReturnType<typeof walk>, 7);
    expect(one(drops, 2, 0).int).toBe(1n); // AGGREGATION_TEMPORALITY_DELTA
    expect(one(drops, 3, 0).int).toBe(1n); // is_monotonic
    const dp = sub(drops, 1);
    expect(dbl(one(dp, 4, 1))).toBe(9);
    expect(attrs(subs(dp, 7))).toEqual({ stage: 'logs.filter', reason: 'below_level', container: 'web-1' });
  });

  it('sends nothing for a batch without metrics', () => {
    expect(encodeOtlpMetrics({ ...b, metrics: [] })).toBeUndefined();
  });
});

describe('encodeOtlpLogs (ExportLogsServiceRequest)', () => {
  const b = batch();
  const req = walk(encodeOtlpLogs(b) as Uint8Array);

  it('writes log events, templates and template samples as LogRecords of the container resource', () => {
    const rl = subs(req, 1); // resource_logs = 1
    expect(rl).toHaveLength(1);
    const sl = sub(rl[0] as ReturnType<typeof walk>, 2); // scope_logs = 2
    const records = subs(sl, 2); // log_records = 2
    expect(records).toHaveLength(3);
    const [event, template, sample] = records as [
      ReturnType<typeof walk>,
      ReturnType<typeof walk>,
      ReturnType<typeof walk>,
    ];

    expect(one(event, 1, 1).int).toBe(ns(T0 + 1500)); // time_unix_nano
    expect(one(event, 2, 0).int).toBe(13n); // SEVERITY_NUMBER_WARN
    expect(str(one(event, 3, 2))).toBe('WARN');
    expect(str(one(sub(event, 5), 1, 2))).toBe('disk 91% full'); // body.string_value
    expect(attrs(subs(event, 6))).toEqual({
      'log.iostream': 'stderr',
      'log.repeat': 3n,
      'log.template.id': 't1',
      path: '/var',
    });

    expect(one(template, 2, 0).int).toBe(9n); // SEVERITY_NUMBER_INFO
    expect(str(one(sub(template, 5), 1, 2))).toBe('GET <*> took <*> ms');
    expect(attrs(subs(template, 6))).toEqual({
      'log.template.id': 't2',
      'log.template.count': 42n,
      'log.template.first_seen_ms': BigInt(T0 + 10),
    });

    expect(one(sample, 1, 1).int).toBe(ns(T0 + 20));
    expect(all(sample, 2, 0)).toHaveLength(0);
    expect(attrs(subs(sample, 6))).toEqual({ 'log.template.id': 't2', 'log.template.params': ['/a', '12'] });
  });

  it('writes container events with event_name (field 12) and sends nothing for an empty batch', () => {
    const withEvent = {
      ...b,
      logs: [],
      templates: [],
      events: [{ ts: T0, container: 'web-1', kind: 'oom' as const, attrs: { exitCode: '137' } }],
    };
    const rec = sub(sub(subs(walk(encodeOtlpLogs(withEvent) as Uint8Array), 1)[0] as ReturnType<typeof walk>, 2), 2);
    expect(str(one(rec, 12, 2))).toBe('container.oom');
    expect(attrs(subs(rec, 6))).toEqual({ exitCode: '137' });
    expect(encodeOtlpLogs({ ...b, logs: [], templates: [], events: [] })).toBeUndefined();
  });
});
