/**
 * Issue 19, OTLP half, end to end: an application instrumented with the OpenTelemetry JS SDK (its
 * own OTLP/HTTP exporters: protobuf for metrics and traces, JSON for logs; then, as another
 * service, its OTLP/gRPC exporters) sends to the real collector's receivers; the window summaries, WARN+ logs and span summaries travel through
 * Mosquitto into the ingester on embedded ClickHouse and come back out of the API with the values
 * the SDK's in-memory exporters recorded in the same run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SpanStatusCode } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as LogsGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter as MetricsGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as TracesGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
  type LogRecordExporter,
} from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import {
  buildCollector,
  createJsonLogger,
  loadCollectorConfig,
  type RunningCollector,
} from '@edge-telemetry/collector';
import { haveMosquitto } from '../support/mosquitto.js';
import { startStack, type Stack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';
import { teeMetrics } from '../otlp/support.js';

const NODE = 'otlp-app-gw';

interface Exporters {
  metrics: PushMetricExporter;
  logs: LogRecordExporter;
  traces: SpanExporter;
}

describe.runIf(haveMosquitto())('OpenTelemetry SDK app -> collector OTLP receiver -> ClickHouse -> API', () => {
  let dir: string;
  let stack: Stack;
  let collector: RunningCollector;
  let from: number;

  beforeAll(async () => {
    from = Date.now() - 60_000;
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-otlp-e2e-'));
    stack = await startStack({
      ingester: { mqtt: { clientId: 'otlp-ingester' }, logLevel: 'warn' },
    });
    const config = loadCollectorConfig([], {
      EDGE_TELEMETRY_NODE: NODE,
      EDGE_TELEMETRY_COLLECTOR_DATA_DIR: path.join(dir, 'collector'),
      EDGE_TELEMETRY_COLLECTOR_HTTP_PORT: '-1',
      EDGE_TELEMETRY_COLLECTOR_SCRAPE_INTERVAL_MS: '1000',
      EDGE_TELEMETRY_COLLECTOR_DOWNSAMPLE_WINDOW_MS: '60000',
      EDGE_TELEMETRY_COLLECTOR_SOURCES_OTLP_ENABLED: 'true',
      EDGE_TELEMETRY_COLLECTOR_SOURCES_OTLP_PORT: '0',
      EDGE_TELEMETRY_COLLECTOR_SOURCES_OTLP_GRPC: 'true',
      EDGE_TELEMETRY_COLLECTOR_SOURCES_OTLP_GRPC_PORT: '0',
      MQTT_URL: stack.broker.url,
    });
    collector = await buildCollector(config, createJsonLogger({ write: () => true }));
    await collector.collector.start();
  }, 60_000);

  afterAll(async () => {
    await collector?.stop();
    await stack?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const get = async <T>(p: string): Promise<T> => {
    const r = await stack.call(p);
    expect(r.status, p).toBe(200);
    return (await r.json()) as T;
  };

  /** The app, as `service`, sends through `exporters`; what comes back out of the API is checked against the SDK's in-memory exporters. */
  const app = async (service: string, exporters: Exporters) => {
    const resource = resourceFromAttributes({ 'service.name': service, 'process.pid': 4242 });
    const memory = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({
      exporter: teeMetrics(exporters.metrics, memory),
      exportIntervalMillis: 3_600_000,
    });
    const meters = new MeterProvider({ resource, readers: [reader] });
    const requests = meters.getMeter('shop').createCounter('http.requests');
    const flush = () => reader.forceFlush();
    requests.add(100, { route: '/cart' });
    await flush();
    await new Promise((r) => setTimeout(r, 1000));
    requests.add(250, { route: '/cart' });
    await flush();
    const logMemory = new InMemoryLogRecordExporter();
    const loggers = new LoggerProvider({
      resource,
      processors: [
        new SimpleLogRecordProcessor({ exporter: exporters.logs }),
        new SimpleLogRecordProcessor({ exporter: logMemory }),
      ],
    });
    loggers
      .getLogger('shop')
      .emit({ severityNumber: SeverityNumber.WARN, body: `${service}: payment provider slow: 2300 ms` });
    loggers.getLogger('shop').emit({ severityNumber: SeverityNumber.INFO, body: 'cart opened' });
    await loggers.forceFlush();
    const spanMemory = new InMemorySpanExporter();
    const tracers = new BasicTracerProvider({
      resource,
      spanProcessors: [new SimpleSpanProcessor(exporters.traces), new SimpleSpanProcessor(spanMemory)],
    });
    const tracer = tracers.getTracer('shop');
    const t0 = Date.now() - 5000;
    for (const ms of [5, 10, 15, 20, 400]) tracer.startSpan('GET /cart', { startTime: t0 }).end(t0 + ms);
    const bad = tracer.startSpan('POST /pay', { startTime: t0 });
    bad.recordException(new TypeError('card declined'));
    bad.setStatus({ code: SpanStatusCode.ERROR });
    bad.end(t0 + 3000);
    await tracers.forceFlush();
    const sdkSpans = spanMemory.getFinishedSpans();
    const sdkLogs = logMemory.getFinishedLogRecords();
    const sdkPoints = memory
      .getMetrics()
      .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
      .flatMap((m) => m.dataPoints as DataPoint<number>[]);
    await Promise.all([meters.shutdown(), loggers.shutdown(), tracers.shutdown()]);

    await collector.collector.flush();
    const to = Date.now() + 60_000;
    const q = `from=${from}&to=${to}`;

    const metrics = await waitFor(
      'the app series in the API',
      async () => {
        const r = await get<{
          series: { metric: string; attrs: Record<string, string>; points: { count: number; sum: number }[] }[];
        }>(`/api/v1/nodes/${NODE}/metrics?${q}&service=${service}&step=3600`);
        return r.series.find((s) => s.metric === 'http.requests_per_s');
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(metrics.attrs).toEqual({ route: '/cart', 'service.name': service });
    const [a, b] = sdkPoints;
    const dt = b!.endTime[0] - a!.endTime[0] + (b!.endTime[1] - a!.endTime[1]) / 1e9;
    const rate = metrics.points.reduce((n, p) => n + p.sum, 0);
    expect(Math.abs(rate / ((b!.value - a!.value) / dt) - 1)).toBeLessThan(0.01);

    const spans = await waitFor(
      'the span summaries in the API',
      async () => {
        const r = await get<{
          spans: {
            service: string;
            operation: string;
            status: string;
            count: number;
            errors: number;
            errorNames: string[];
            traceIds: string[];
            p50: number;
            p99: number;
          }[];
        }>(`/api/v1/nodes/${NODE}/spans?${q}&service=${service}&step=3600`);
        return r.spans.length === 2 ? r.spans : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const cart = spans.find((s) => s.operation === 'GET /cart')!;
    const durations = sdkSpans
      .filter((s) => s.name === 'GET /cart')
      .map((s) => s.duration[0] * 1000 + s.duration[1] / 1e6)
      .sort((x, y) => x - y);
    expect(cart.count).toBe(durations.length);
    // The sketch's quantiles are within 1% of the SDK's durations (rank floor(q * (n - 1))).
    expect(Math.abs(cart.p50 / durations[Math.floor(0.5 * (durations.length - 1))]! - 1)).toBeLessThan(0.01);
    expect(Math.abs(cart.p99 / durations[Math.floor(0.99 * (durations.length - 1))]! - 1)).toBeLessThan(0.01);
    const pay = spans.find((s) => s.operation === 'POST /pay')!;
    expect(pay).toMatchObject({ count: 1, errors: 1, errorNames: ['TypeError'] });
    expect(pay.traceIds).toEqual([sdkSpans.find((s) => s.name === 'POST /pay')!.spanContext().traceId]);

    const logs = await waitFor(
      'the WARN line in the API',
      async () => {
        const r = await get<{ logs: { message: string; level: string }[] }>(
          `/api/v1/nodes/${NODE}/logs?${q}&level=warn`,
        );
        const mine = r.logs.filter((l) => l.message.startsWith(`${service}:`));
        return mine.length > 0 ? mine : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(logs.map((l) => l.message)).toEqual(
      sdkLogs.filter((l) => l.severityNumber === SeverityNumber.WARN).map((l) => l.body),
    );
  };

  it('OTLP/HTTP: metrics, WARN+ logs and span summaries come back with the values the SDK recorded', async () => {
    const base = collector.otlpUrl!;
    // Metrics and traces in protobuf, logs in JSON.
    await app('checkout', {
      metrics: new OTLPMetricExporter({ url: `${base}/v1/metrics` }),
      logs: new OTLPLogExporter({ url: `${base}/v1/logs` }),
      traces: new OTLPTraceExporter({ url: `${base}/v1/traces` }),
    });
  }, 120_000);

  it('OTLP/gRPC: the same through the SDK gRPC exporters', async () => {
    const url = collector.otlpGrpcUrl!;
    // Another service, so that its rows are told apart from the HTTP test's in the same store.
    await app('checkout-grpc', {
      metrics: new MetricsGrpc({ url }),
      logs: new LogsGrpc({ url }),
      traces: new TracesGrpc({ url }),
    });
  }, 120_000);
});
