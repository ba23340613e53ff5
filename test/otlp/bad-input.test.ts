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

  it('OTLP/JSON with a field of the wrong type is a 400 naming it, not a 500', async () => {
    rig = await startRig();
    const wrong: [string, unknown][] = [
      ['/v1/metrics', { resourceMetrics: 5 }],
      [
        '/v1/metrics',
        { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'm', gauge: { dataPoints: 7 } }] }] }] },
      ],
      ['/v1/logs', { resourceLogs: [{ resource: { attributes: 9 }, scopeLogs: [] }] }],
      ['/v1/logs', { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { kvlistValue: { values: 5 } } }] }] }] }],
    ];
    for (const [path, body] of wrong) {
      const r = await json(path, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(((await r.json()) as { message: string }).message).toMatch(/^ET_ERR_OTLP_MALFORMED: a field of the JSON/);
    }
    expect((await json('/v1/metrics', gauge('temp', [{ t: T, v: 1 }]))).status).toBe(200);
    expect(await rig.requests(500)).toBe(0);
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
