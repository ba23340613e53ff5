/**
 * The OpenTelemetry JS SDK's own OTLP exporters (HTTP protobuf, HTTP JSON and gRPC), none written by us, send
 * metrics, logs and spans to the collector's receiver; what the collector's stages make of them is
 * checked against what the SDK's in-memory exporters recorded in the same run.
 */
import { LogLevel } from '@edge-telemetry/protocol';
import { SeverityNumber, type AnyValueMap } from '@opentelemetry/api-logs';
import { SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { OTLPLogExporter as LogsGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as LogsHttp } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogsProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as MetricsGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as MetricsHttp } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as MetricsProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as TracesGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as TracesHttp } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TracesProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRig, teeMetrics, type Rig } from './support.js';

const resource = resourceFromAttributes({
  'service.name': 'checkout',
  'container.id': 'abc123def456abc123def456',
  'process.pid': 4242,
});

type Format = 'proto' | 'json' | 'grpc';

/** The SDK's exporters of one format, pointed at the rig's HTTP paths or its gRPC address. */
function exporters(format: Format, rig: Rig) {
  const kinds = {
    proto: { metrics: MetricsProto, logs: LogsProto, traces: TracesProto },
    json: { metrics: MetricsHttp, logs: LogsHttp, traces: TracesHttp },
    grpc: { metrics: MetricsGrpc, logs: LogsGrpc, traces: TracesGrpc },
  }[format];
  const url = (signal: string) => ({
    url: format === 'grpc' ? rig.receiver.grpcUrl! : `${rig.receiver.url}/v1/${signal}`,
  });
  return {
    metrics: () => new kinds.metrics(url('metrics')),
    logs: () => new kinds.logs(url('logs')),
    traces: () => new kinds.traces(url('traces')),
  };
}

describe.each(['proto', 'json', 'grpc'] as const)(
  'OpenTelemetry JS SDK, OTLP %s exporters, into the collector',
  (format) => {
    let rig: Rig;
    beforeAll(async () => {
      rig = await startRig({ grpc: true, grpcPort: 0 });
    });
    afterAll(() => rig.close());

    it('metrics: counter rates, gauges, up-down counters and histograms as the SDK recorded them', async () => {
      const exporter = exporters(format, rig).metrics();
      const memory = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
      const reader = new PeriodicExportingMetricReader({
        exporter: teeMetrics(exporter, memory),
        exportIntervalMillis: 3_600_000,
      });
      const provider = new MeterProvider({ resource, readers: [reader] });
      const meter = provider.getMeter('shop');
      const requests = meter.createCounter('http.requests');
      const queue = meter.createUpDownCounter('queue.depth');
      const temp = meter.createGauge('temperature');
      const latency = meter.createHistogram('http.latency', { unit: 'ms' });
      const flush = () => reader.forceFlush();

      requests.add(10, { route: '/cart' });
      requests.add(5, { route: '/pay' });
      latency.record(3, { route: '/cart' });
      await flush(); // the base of the cumulative series
      await new Promise((r) => setTimeout(r, 500));
      requests.add(40, { route: '/cart' });
      requests.add(7, { route: '/pay' });
      queue.add(12);
      queue.add(-4);
      temp.record(21.5, { room: 'a' });
      for (const v of [1, 2, 4, 8, 16, 120, 700]) latency.record(v, { route: '/cart' });
      await flush();

      const sent = memory.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
      const points = (name: string) =>
        sent.filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints as DataPoint<unknown>[]);
      const windows = rig.downsampler.flush(Math.ceil(Date.now() / 60_000) * 60_000 + 60_000);
      const series = (metric: string, attrs: Record<string, string>) =>
        windows.find((w) => w.metric === metric && Object.entries(attrs).every(([k, v]) => w.attrs?.[k] === v));

      // Counters: the rate between the two exports the SDK made, by the SDK's own values and times.
      for (const route of ['/cart', '/pay']) {
        const [a, b] = points('http.requests').filter((p) => p.attributes.route === route) as DataPoint<number>[];
        const dt = b!.endTime[0] - a!.endTime[0] + (b!.endTime[1] - a!.endTime[1]) / 1e9;
        // Counters leave as per-second rates, named so.
        const w = series('http.requests_per_s', { route, 'service.name': 'checkout' });
        expect(w, route).toBeDefined();
        expect(w!.container).toBe('shop');
        expect(w!.count).toBe(1);
        // The collector keeps times in ms: dt is off by under 1 ms, nothing else.
        expect(Math.abs(w!.sum / ((b!.value - a!.value) / dt) - 1)).toBeLessThan(0.001 / dt);
        // process.pid is not part of the identity: one series per restart would be a cardinality leak.
        expect(w!.attrs).toEqual({ route, 'service.name': 'checkout' });
      }
      expect(series('queue.depth', {})!.last).toBe(8);
      expect(series('temperature', { room: 'a' })!.last).toBe(21.5);

      // Histogram: the observations of the second export (cumulative minus the base) are in the sketch.
      const [h1, h2] = points('http.latency') as DataPoint<Histogram>[];
      const h = series('http.latency', { route: '/cart' })!;
      expect(h.count).toBe(h2!.value.count - h1!.value.count);
      expect(h.sum).toBeCloseTo(h2!.value.sum! - h1!.value.sum!, 6);
      expect(h.sketch).toBeDefined();
      await provider.shutdown();
    });

    it('logs: WARN and above kept verbatim with the SDK body and level, all counted by level', async () => {
      const memory = new InMemoryLogRecordExporter();
      const provider = new LoggerProvider({
        resource,
        processors: [
          new SimpleLogRecordProcessor({ exporter: exporters(format, rig).logs() }),
          new SimpleLogRecordProcessor({ exporter: memory }),
        ],
      });
      const logger = provider.getLogger('shop');
      logger.emit({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: 'cart 17 opened' });
      logger.emit({ severityNumber: SeverityNumber.WARN, body: 'payment slow: 2300 ms', attributes: { order: 'o-1' } });
      logger.emit({ severityNumber: SeverityNumber.ERROR, body: 'payment failed for order o-2' });
      await provider.forceFlush();
      const recorded = memory.getFinishedLogRecords();
      await provider.shutdown();
      expect(recorded).toHaveLength(3);

      const sealed = rig.logs.sealAll();
      const w = { logs: sealed.flatMap((x) => x.logs), metrics: sealed.flatMap((x) => x.metrics) };
      const kept = w.logs.filter((l) => l.container === 'shop');
      expect(kept.map((l) => l.message).sort()).toEqual(
        recorded
          .filter((r) => r.severityNumber! >= SeverityNumber.WARN)
          .map((r) => r.body as string)
          .sort(),
      );
      expect(kept.find((l) => l.message.startsWith('payment slow'))!.level).toBe(LogLevel.warn);
      expect(kept.find((l) => l.message.startsWith('payment failed'))!.level).toBe(LogLevel.error);
      expect(kept.find((l) => l.message.startsWith('payment slow'))!.fields).toMatchObject({ order: 'o-1' });
      const lines = w.metrics.filter((m) => m.container === 'shop').reduce((n, m) => n + m.sum, 0);
      expect(lines).toBe(recorded.length);
    });

    // 25 levels: protobufjs decodes at most 100 nested messages (protoc's limit) and each level is three.
    it('logs: an object logged 25 levels deep arrives as one bounded JSON document (was 2^depth text)', async () => {
      let body: AnyValueMap = { leaf: 'x' };
      for (let i = 0; i < 25; i++) body = { level: i, child: body };
      const provider = new LoggerProvider({
        resource,
        processors: [new SimpleLogRecordProcessor({ exporter: exporters(format, rig).logs() })],
      });
      provider.getLogger('shop').emit({ severityNumber: SeverityNumber.ERROR, body, attributes: { request: body } });
      await provider.forceFlush();
      await provider.shutdown();
      const kept = rig.logs
        .sealAll()
        .flatMap((x) => x.logs)
        .filter((l) => l.container === 'shop' && l.message.startsWith('{"level":"24"'));
      expect(kept).toHaveLength(1);
      const outer = JSON.parse(kept[0]!.message) as { level: string; child: { level: string } };
      expect(outer.child.level).toBe('23');
      expect(kept[0]!.message).toContain('"[nested too deep]"');
      expect(kept[0]!.message.length).toBeLessThan(1000);
    });

    it('traces: one summary row per service, operation, kind and status with the SDK spans durations', async () => {
      const memory = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({
        resource,
        spanProcessors: [new SimpleSpanProcessor(exporters(format, rig).traces()), new SimpleSpanProcessor(memory)],
      });
      const tracer: Tracer = provider.getTracer('shop');
      const t0 = Date.now() - 10_000;
      for (const ms of [5, 10, 15, 20]) tracer.startSpan('GET /cart', { startTime: t0 }).end(t0 + ms);
      const bad = tracer.startSpan('POST /pay', { startTime: t0 });
      bad.recordException(new TypeError('card declined'));
      bad.setStatus({ code: SpanStatusCode.ERROR, message: 'declined' });
      bad.end(t0 + 3000);
      await provider.forceFlush();
      const recorded = memory.getFinishedSpans();
      await provider.shutdown();

      const rows = rig.spans.flush(t0, Date.now());
      const cart = rows.find((r) => r.operation === 'GET /cart')!;
      const durations = recorded
        .filter((s) => s.name === 'GET /cart')
        .map((s) => s.duration[0] * 1000 + s.duration[1] / 1e6);
      expect(cart).toMatchObject({ container: 'shop', service: 'checkout', count: durations.length });
      expect(cart.sum).toBeCloseTo(
        durations.reduce((a, b) => a + b, 0),
        6,
      );
      expect(cart.max).toBeCloseTo(Math.max(...durations), 6);
      const pay = rows.find((r) => r.operation === 'POST /pay')!;
      expect(pay).toMatchObject({ status: 2, count: 1, errors: ['TypeError'] });
      expect(pay.traceIds).toEqual([recorded.find((s) => s.name === 'POST /pay')!.spanContext().traceId]);
    });
  },
);
