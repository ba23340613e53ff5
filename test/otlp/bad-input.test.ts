/**
 * What clients get wrong, or too much of: every case answers as the OTLP specification says (or
 * is a counted drop) and the receiver goes on serving.
 */
import zlib from 'node:zlib';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { gauge, startRig, T, type Rig } from './support.js';

describe('OTLP receiver: bad input', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  const post = (path: string, body: Buffer | string, headers: Record<string, string>) =>
    fetch(`${rig!.receiver.url}${path}`, { method: 'POST', body, headers });
  const json = (path: string, v: unknown) => post(path, JSON.stringify(v), { 'content-type': 'application/json' });

  it('refuses what it cannot read with 400/404/413/415 and a Status naming the error, and keeps serving', async () => {
    rig = await startRig({ maxRequestBytes: 64 * 1024, maxDecodedBytes: 256 * 1024 });
    const proto = { 'content-type': 'application/x-protobuf' };
    const bad = await post('/v1/metrics', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]), proto);
    expect(bad.status).toBe(400);
    expect(Buffer.from(await bad.arrayBuffer()).toString()).toContain('ET_ERR_OTLP_MALFORMED');
    const notJson = await post('/v1/logs', '{"resourceLogs": [', { 'content-type': 'application/json' });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { message: string }).message).toMatch(/^ET_ERR_OTLP_MALFORMED/);
    expect((await json('/v1/traces', [1, 2])).status).toBe(400);
    expect((await post('/v1/metrics', 'hello', { 'content-type': 'text/plain' })).status).toBe(415);
    expect(
      (await post('/v1/metrics', 'x', { 'content-type': 'application/json', 'content-encoding': 'br' })).status,
    ).toBe(415);
    const corrupt = await post('/v1/metrics', Buffer.from('not gzip'), { ...proto, 'content-encoding': 'gzip' });
    expect(corrupt.status).toBe(400);
    // One long enough to have a trailer, whose last 4 bytes read as a size over maxDecodedBytes: not gzip all the same (400, not 413).
    const notGzip = await post('/v1/metrics', Buffer.from('not gzip at all, ending in ~~~~'), {
      ...proto,
      'content-encoding': 'gzip',
    });
    expect(notGzip.status).toBe(400);
    expect((await fetch(`${rig.receiver.url}/v1/metrics`)).status).toBe(404);
    expect((await json('/v1/profiles', {})).status).toBe(404);
    // Over the size as sent, and a small gzip that inflates past maxDecodedBytes.
    expect((await post('/v1/metrics', Buffer.alloc(65 * 1024), proto)).status).toBe(413);
    const bomb = zlib.gzipSync(Buffer.alloc(4 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect((await post('/v1/metrics', bomb, { ...proto, 'content-encoding': 'gzip' })).status).toBe(413);
    // Still serving, gzip included.
    const ok = await post('/v1/metrics', zlib.gzipSync(JSON.stringify(gauge('temp', [{ t: T, v: 1 }]))), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(ok.status).toBe(200);
    expect(await rig.requests(200)).toBe(1);
    expect(await rig.requests(413)).toBe(2);
  });

  it('OTLP/JSON of the wrong shape at any depth is a 400 naming the field, counted, and nothing of it taken', async () => {
    rig = await startRig();
    const metric = (m: object) => ({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'm', ...m }] }] }] });
    const record = (r: object) => ({ resourceLogs: [{ scopeLogs: [{ logRecords: [r] }] }] });
    const wrong: [string, unknown, string][] = [
      ['/v1/metrics', { resourceMetrics: 'x' }, 'resourceMetrics: expected an array, got a string'],
      ['/v1/metrics', { resourceMetrics: 5 }, 'resourceMetrics: expected an array, got a number'],
      ['/v1/logs', { resourceLogs: [1] }, 'resourceLogs[0]: expected an object, got a number'],
      ['/v1/logs', { resourceLogs: [null] }, 'resourceLogs[0]: expected an object, got null'],
      [
        '/v1/metrics',
        { resourceMetrics: [{ scopeMetrics: {} }] },
        'resourceMetrics[0].scopeMetrics: expected an array, got an object',
      ],
      [
        '/v1/metrics',
        metric({ gauge: { dataPoints: 'abc' } }),
        'resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints: expected an array, got a string',
      ],
      [
        '/v1/metrics',
        metric({ gauge: { dataPoints: 7 } }),
        'resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints: expected an array, got a number',
      ],
      [
        '/v1/metrics',
        metric({ histogram: { dataPoints: [{ count: 1, bucketCounts: '1' }] } }),
        'resourceMetrics[0].scopeMetrics[0].metrics[0].histogram.dataPoints[0].bucketCounts: expected an array, got a string',
      ],
      [
        '/v1/metrics',
        metric({ sum: { dataPoints: [{ asInt: '1', attributes: { key: 'k', value: { stringValue: 'v' } } }] } }),
        'resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0].attributes: expected an array, got an object',
      ],
      [
        '/v1/logs',
        { resourceLogs: [{ resource: { attributes: 9 }, scopeLogs: [] }] },
        'resourceLogs[0].resource.attributes: expected an array, got a number',
      ],
      [
        '/v1/logs',
        { resourceLogs: [{ resource: { attributes: ['service.name'] } }] },
        'resourceLogs[0].resource.attributes[0]: expected an object, got a string',
      ],
      [
        '/v1/logs',
        record({ attributes: [{ key: 5, value: { stringValue: 'v' } }] }),
        'resourceLogs[0].scopeLogs[0].logRecords[0].attributes[0].key: expected a string, got a number',
      ],
      [
        '/v1/logs',
        record({ attributes: [{ key: 'k', value: 'v' }] }),
        'resourceLogs[0].scopeLogs[0].logRecords[0].attributes[0].value: expected an object, got a string',
      ],
      [
        '/v1/logs',
        record({ body: { kvlistValue: { values: 5 } } }),
        'resourceLogs[0].scopeLogs[0].logRecords[0].body.kvlistValue.values: expected an array, got a number',
      ],
      [
        '/v1/logs',
        record({
          body: { arrayValue: { values: [{ kvlistValue: { values: [{ key: 'a', value: { bytesValue: 1 } }] } }] } },
        }),
        'resourceLogs[0].scopeLogs[0].logRecords[0].body.arrayValue.values[0].kvlistValue.values[0].value.bytesValue: expected a string, got a number',
      ],
      [
        '/v1/traces',
        { resourceSpans: [{ scopeSpans: [{ spans: [{ name: 's', events: 'exception' }] }] }] },
        'resourceSpans[0].scopeSpans[0].spans[0].events: expected an array, got a string',
      ],
      [
        '/v1/traces',
        { resourceSpans: [{ scopeSpans: [{ spans: [{ name: 's', traceId: 5 }] }] }] },
        'resourceSpans[0].scopeSpans[0].spans[0].traceId: expected a string, got a number',
      ],
    ];
    for (const [path, body, field] of wrong) {
      const r = await json(path, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      const status = (await r.json()) as { code: number; message: string };
      expect(status.code).toBe(3); // google.rpc.Code INVALID_ARGUMENT
      expect(status.message).toBe(`ET_ERR_OTLP_MALFORMED: ${field} (OTLP/JSON ${requestType(path)})`);
    }
    expect(await rig.requests(400)).toBe(wrong.length);
    const malformed = rig.drops.filter((d) => d.reason === 'malformed');
    expect(Object.fromEntries(malformed.map((d) => [d.stage, d.count]))).toEqual({
      'otlp.metrics': 7,
      'otlp.logs': 8,
      'otlp.traces': 2,
    });
    // Nothing of a refused request reached the pipeline: the valid points inside them are not there.
    expect(rig.downsampler.seriesCount).toBe(0);
    expect((await json('/v1/metrics', gauge('temp', [{ t: T, v: 1 }]))).status).toBe(200);
    expect(rig.downsampler.seriesCount).toBe(1);
  });

  it('OTLP/JSON: any field the mapping reads, replaced by any other JSON type, is a 200 or a 400, never a 500', async () => {
    rig = await startRig({ itemsPerSecond: 0 });
    const seen = new Set<number>();
    let mutations = 0;
    for (const [path, valid] of Object.entries(EVERY_FIELD)) {
      expect((await json(path, valid)).status, path).toBe(200);
      for (const at of nodePaths(valid))
        for (const other of OTHER_TYPES) {
          const r = await json(path, replaced(valid, at, other));
          seen.add(r.status);
          expect([200, 400], `${path} ${at.join('.')} = ${JSON.stringify(other)}`).toContain(r.status);
          await r.arrayBuffer();
          mutations++;
        }
    }
    expect(mutations).toBeGreaterThan(1000);
    expect([...seen].sort()).toEqual([200, 400]);
    expect(await rig.requests(500)).toBe(0);
    expect(rig.drops.filter((d) => d.reason === 'internal_error')).toEqual([]);
  }, 120_000);

  it('a histogram count a double cannot hold (a uint64 above 2^53) is refused as partial success, the client told', async () => {
    rig = await startRig();
    const point = (count: string) => ({
      timeUnixNano: `${T}000000`,
      count,
      sum: 1,
      bucketCounts: [count],
      explicitBounds: [],
    });
    const body = {
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'latency',
                  histogram: { aggregationTemporality: 1, dataPoints: [point('1152921504606846976'), point('3')] },
                },
              ],
            },
          ],
        },
      ],
    };
    const r = await json('/v1/metrics', body);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      partialSuccess: {
        rejectedDataPoints: 1,
        errorMessage: 'latency: a histogram point with a count that is not a whole number below 2^53',
      },
    });
    expect(rig.drops.find((d) => d.reason === 'count_not_exact')?.count).toBe(1);
  });

  it('exponential histograms: offsets at the ends of sint32 cost a bounded delta; offsets past them or a fractional scale are refused', async () => {
    // Two exports of one cumulative series 2^32 buckets apart made the delta an array over the
    // span: thrown at 2^32, the process killed out of memory at 4e9, 3.7 GB at 50 M.
    rig = await startRig();
    const exp = (t: number, point: Record<string, unknown>) => ({
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'wait',
                  exponentialHistogram: {
                    aggregationTemporality: 2,
                    dataPoints: [{ timeUnixNano: `${t}000000`, startTimeUnixNano: `${T - 60_000}000000`, ...point }],
                  },
                },
              ],
            },
          ],
        },
      ],
    });
    const at = (t: number, offset: number, bucketCounts: string[], count: string) =>
      json('/v1/metrics', exp(t, { count, scale: 20, positive: { offset, bucketCounts } }));
    const first = await at(T, -(2 ** 31), ['3'], '3');
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({});
    const second = await at(T + 10_000, 2 ** 31 - 2, ['4', '1'], '5');
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({});
    const w = rig.downsampler.flush(T + 60_000).find((x) => x.metric === 'wait');
    expect(w?.count).toBeGreaterThan(0);
    for (const point of [
      { count: '1', scale: 20, positive: { offset: 2 ** 31, bucketCounts: ['1'] } },
      { count: '1', scale: 1.5, positive: { offset: 0, bucketCounts: ['1'] } },
    ]) {
      const r = await json('/v1/metrics', exp(T + 20_000, point));
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({
        partialSuccess: { rejectedDataPoints: 1, errorMessage: 'wait: a histogram point whose buckets do not add up' },
      });
    }
    expect(rig.drops.find((d) => d.reason === 'bad_histogram')?.count).toBe(2);
  });

  it('NaN and infinities are refused as partial success; duplicates and out-of-order points are counted drops', async () => {
    rig = await startRig();
    const r = await json(
      '/v1/metrics',
      gauge('pressure', [
        { t: T, v: 1 },
        { t: T + 1000, v: 'NaN' },
        { t: T + 2000, v: 'Infinity' },
        { t: T + 3000, v: 3 },
      ]),
    );
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      partialSuccess: { rejectedDataPoints: 2, errorMessage: 'pressure: a point without a finite value' },
    });
    // A retried request (same times) and an older point.
    await json('/v1/metrics', gauge('pressure', [{ t: T + 3000, v: 3 }]));
    await json('/v1/metrics', gauge('pressure', [{ t: T + 500, v: 9 }]));
    const [w] = rig.downsampler.flush(T + 60_000);
    expect(w).toMatchObject({ metric: 'pressure', count: 2, sum: 4, max: 3 });
    const reasons = Object.fromEntries(rig.drops.map((d) => [`${d.stage}/${d.reason}`, d.count]));
    expect(reasons).toMatchObject({
      'otlp.metrics/not_finite': 2,
      'metrics.downsample/duplicate': 1,
      'metrics.downsample/out_of_order': 1,
    });
  });

  it('an attribute explosion (100,000 distinct values) costs the applications their own series cap, counted', async () => {
    rig = await startRig({ maxSeries: 500, itemsPerSecond: 0 });
    for (let batch = 0; batch < 20; batch++) {
      const points = Array.from({ length: 5000 }, (_, i) => ({
        attrs: { request_id: `r-${batch * 5000 + i}` },
        t: T + batch,
        v: i,
      }));
      expect((await json('/v1/metrics', gauge('latency', points))).status).toBe(200);
    }
    expect(rig.downsampler.seriesCount).toBe(500);
    const capped = rig.drops.find((d) => d.reason === 'source_series_cap');
    expect(capped?.count).toBe(100_000 - 500);
    expect(rig.downsampler.flush(T + 60_000)).toHaveLength(500);
  });

  // Outsider (session 13): an SDK app with a counter over 3,000 attribute values took all of
  // maxSeries, and two other apps exporting next had no series at all.
  it("one application's attribute explosion costs its own container's share of the series, not the other applications'", async () => {
    rig = await startRig();
    const app = (container: string, series: number) => {
      const body = gauge(
        'requests',
        Array.from({ length: series }, (_, i) => ({ attrs: { card: `v${i}` }, t: T, v: i })),
      );
      body.resourceMetrics[0]!.resource.attributes = [
        { key: 'service.name', value: { stringValue: container } },
        { key: 'k8s.container.name', value: { stringValue: container } },
      ];
      return body;
    };
    for (const [container, series] of [
      ['odd-proto', 3000],
      ['odd-json', 50],
      ['odd-grpc', 50],
    ] as const)
      expect((await json('/v1/metrics', app(container, series))).status).toBe(200);
    const windows = rig.downsampler.flush(T + 60_000);
    const per = (c: string) => windows.filter((w) => w.container === c).length;
    expect([per('odd-proto'), per('odd-json'), per('odd-grpc')]).toEqual([1000, 50, 50]);
    expect(rig.drops).toContainEqual({
      stage: 'metrics.cardinality',
      reason: 'container_series_cap',
      container: 'odd-proto',
      count: 2000,
    });
  });

  it('over its item rate it answers 429 with Retry-After, and the SDK exporter retries until all is taken', async () => {
    rig = await startRig({ itemsPerSecond: 40, burstItems: 40 });
    const resource = resourceFromAttributes({ 'service.name': 'burst' });
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource,
      spanProcessors: [
        new BatchSpanProcessor(new OTLPTraceExporter({ url: `${rig.receiver.url}/v1/traces`, timeoutMillis: 20_000 }), {
          maxExportBatchSize: 20,
          scheduledDelayMillis: 10,
        }),
        new SimpleSpanProcessor(memory),
      ],
    });
    const tracer = provider.getTracer('burst');
    // 100 spans at once in exports of 20: 2.5 times what 40 per second takes in a second.
    for (let i = 0; i < 100; i++) tracer.startSpan('poll').end();
    await provider.forceFlush();
    expect(memory.getFinishedSpans()).toHaveLength(100);
    await provider.shutdown();
    expect(await rig.requests(429)).toBeGreaterThan(0);
    const [row] = rig.spans.flush(0, Date.now());
    expect(row).toMatchObject({ service: 'burst', operation: 'poll', count: 100 });
  }, 60_000);
});

const requestType = (path: string) =>
  ({ '/v1/metrics': 'ExportMetricsServiceRequest', '/v1/logs': 'ExportLogsServiceRequest' })[path] ??
  'ExportTraceServiceRequest';

/** Values of every JSON type, each put in place of every field in turn. */
const OTHER_TYPES: unknown[] = [5, 'x', true, null, [], [1], [null], {}, { values: 1 }];

const kv = (key: string, value: object) => ({ key, value });
/** One request per signal with every field the mapping reads, nested values and all five metric types included. */
const EVERY_FIELD: Record<string, unknown> = {
  '/v1/metrics': {
    resourceMetrics: [
      {
        resource: {
          attributes: [
            kv('service.name', { stringValue: 'plc' }),
            kv('tags', {
              arrayValue: { values: [{ intValue: '1' }, { kvlistValue: { values: [kv('b', { boolValue: true })] } }] },
            }),
            kv('raw', { bytesValue: 'AAE=' }),
          ],
        },
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'g',
                gauge: { dataPoints: [{ timeUnixNano: '1', asDouble: 1, attributes: [kv('a', { doubleValue: 2 })] }] },
              },
              {
                name: 's',
                sum: {
                  aggregationTemporality: 1,
                  isMonotonic: true,
                  dataPoints: [{ startTimeUnixNano: '1', timeUnixNano: '1000000001', asInt: '3' }],
                },
              },
              {
                name: 'h',
                histogram: {
                  aggregationTemporality: 2,
                  dataPoints: [{ count: '3', sum: 6, min: 1, max: 3, bucketCounts: ['1', '2'], explicitBounds: [1.5] }],
                },
              },
              {
                name: 'e',
                exponentialHistogram: {
                  dataPoints: [
                    {
                      count: '3',
                      scale: 1,
                      zeroCount: '1',
                      positive: { offset: 1, bucketCounts: ['1'] },
                      negative: { offset: 0, bucketCounts: ['1'] },
                    },
                  ],
                },
              },
              { name: 'q', summary: { dataPoints: [{ quantileValues: [{ quantile: 0.5, value: 2 }] }] } },
            ],
          },
        ],
      },
    ],
  },
  '/v1/logs': {
    resourceLogs: [
      {
        resource: { attributes: [kv('k8s.container.name', { stringValue: 'shop' })] },
        scopeLogs: [
          {
            logRecords: [
              {
                timeUnixNano: '1',
                observedTimeUnixNano: '2',
                severityNumber: 17,
                severityText: 'ERROR',
                body: {
                  kvlistValue: {
                    values: [
                      kv('msg', { stringValue: 'failed' }),
                      kv('n', { arrayValue: { values: [{ intValue: 1 }] } }),
                    ],
                  },
                },
                attributes: [kv('order', { stringValue: 'o-1' })],
                traceId: '5b8efff798038103d269b633813fc60c',
                spanId: 'eee19b7ec3c1b174',
              },
            ],
          },
        ],
      },
    ],
  },
  '/v1/traces': {
    resourceSpans: [
      {
        resource: { attributes: [kv('service.name', { stringValue: 'shop' })] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: '5b8efff798038103d269b633813fc60c',
                name: 'pay',
                kind: 2,
                startTimeUnixNano: '1',
                endTimeUnixNano: '5000001',
                status: { code: 2, message: 'declined' },
                events: [{ name: 'exception', attributes: [kv('exception.type', { stringValue: 'Declined' })] }],
              },
            ],
          },
        ],
      },
    ],
  },
};

/** The path (keys and indexes) of every value inside `v`, the root excluded. */
function nodePaths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [];
  const children: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  return children.flatMap(([k, x]) => [[...at, k], ...nodePaths(x, [...at, k])]);
}

/** A copy of `v` with the value at `at` replaced by `other`. */
function replaced(v: unknown, at: (string | number)[], other: unknown): unknown {
  const copy = structuredClone(v) as Record<string | number, unknown>;
  let parent = copy;
  for (const k of at.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  parent[at[at.length - 1] as string | number] = other;
  return copy;
}
