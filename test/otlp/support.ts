/** A real OTLP receiver feeding the collector's real stages (downsampler, log pipeline, span summarizer), for the OTLP tests. */
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import type { DropCount } from '@edge-telemetry/protocol';
import protobuf from 'protobufjs';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { Downsampler } from '../../packages/collector/src/transforms/downsample/downsampler.js';
import { ddSketchOps } from '../../packages/collector/src/transforms/downsample/ddsketch-ops.js';
import { LogPipeline } from '../../packages/collector/src/transforms/logs/pipeline.js';
import { logPipelineOptions } from '../../packages/collector/src/transforms/logs/options.js';
import { SpanSummarizer } from '../../packages/collector/src/transforms/spans/span-summarizer.js';
import { startOtlpReceiver, type OtlpReceiver } from '../../packages/collector/src/sources/otlp/otlp-receiver.js';
import {
  otlpIngestOptions,
  resolveOtlpReceiverOptions,
  type OtlpReceiverOptions,
} from '../../packages/collector/src/sources/otlp/options.js';

export interface Rig {
  receiver: OtlpReceiver;
  downsampler: Downsampler;
  logs: LogPipeline;
  spans: SpanSummarizer;
  drops: DropCount[];
  /** The receiver's own counter `collector.otlp.requests` for one status (HTTP status, or gRPC code name), as its /metrics would show it. */
  requests(status: number | string): Promise<number>;
  /** The receiver's own counter `name` summed over the points whose attributes include `attrs`. */
  counter(name: string, attrs: Record<string, string>): Promise<number>;
  /** The receiver's warnings, as the collector would log them. */
  warnings: Array<{ msg: string; fields?: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function startRig(options: Partial<OtlpReceiverOptions> = {}, maxSeries = 10_000): Promise<Rig> {
  const drops: DropCount[] = [];
  const warnings: Rig['warnings'] = [];
  const report = {
    drop: (d: Omit<DropCount, 'count'>, count = 1) => {
      const cur = drops.find((x) => x.stage === d.stage && x.reason === d.reason && x.container === d.container);
      if (cur) cur.count += count;
      else drops.push({ ...d, count });
    },
  };
  const o = resolveOtlpReceiverOptions({ port: 0, ...options });
  const downsampler = new Downsampler(
    { windowMs: 60_000, significantDigits: 0, maxSeries },
    { sketches: ddSketchOps, report },
  );
  const logs = new LogPipeline(logPipelineOptions({}), { now: Date.now, report, windowMs: 60_000 });
  const spans = new SpanSummarizer({}, { sketches: ddSketchOps, report, significantDigits: 0 });
  const own = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: own, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const receiver = await startOtlpReceiver(o, {
    sinks: {
      metrics: (samples, histograms) => downsampler.ingest('otlp', { samples, histograms }, otlpIngestOptions(o)),
      log: (line) => logs.push(line),
      span: (s) => spans.add(s),
    },
    containerOf: (id) => (id.startsWith('abc123') ? 'shop' : undefined),
    report,
    meter: meterProvider.getMeter('test'),
    now: Date.now,
    log: { warn: (msg, fields) => warnings.push({ msg, fields }) },
  });
  const counter = async (name: string, attrs: Record<string, string>) => {
    own.reset();
    await reader.forceFlush();
    return own
      .getMetrics()
      .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
      .filter((m) => m.descriptor.name === name)
      .flatMap((m) => m.dataPoints as DataPoint<number>[])
      .filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v))
      .reduce((n, p) => n + p.value, 0);
  };
  return {
    receiver,
    downsampler,
    logs,
    spans,
    drops,
    requests: (status) => counter('collector.otlp.requests', { status: String(status) }),
    counter,
    warnings,
    close: async () => {
      await receiver.close();
      await meterProvider.shutdown();
    },
  };
}

/** A fixed time for hand-written requests (ms). */
export const T = 1_764_300_000_000;
const nanos = (ms: number) => `${ms}000000`;

/** An ExportMetricsServiceRequest in OTLP/JSON shape (protobufjs' fromObject reads it too): one gauge of `points`. */
export function gauge(name: string, points: { attrs?: Record<string, string>; t: number; v: number | string }[]) {
  return {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'plc-bridge' } }] },
        scopeMetrics: [
          {
            metrics: [
              {
                name,
                gauge: {
                  dataPoints: points.map((p) => ({
                    timeUnixNano: nanos(p.t),
                    asDouble: p.v,
                    attributes: Object.entries(p.attrs ?? {}).map(([key, v]) => ({ key, value: { stringValue: v } })),
                  })),
                },
              },
            ],
          },
        ],
      },
    ],
  };
}

/**
 * One SDK collection handed to both the OTLP exporter and the in-memory one, so the values and
 * times checked are exactly those sent (two readers would collect a few ms apart, more on a loaded
 * machine, and the rates would differ by that much).
 */
export function teeMetrics(otlp: PushMetricExporter, memory: InMemoryMetricExporter): PushMetricExporter {
  return {
    export: (metrics, done) => memory.export(metrics, () => otlp.export(metrics, done)),
    forceFlush: async () => {
      await Promise.all([otlp.forceFlush(), memory.forceFlush()]);
    },
    shutdown: async () => {
      await Promise.all([otlp.shutdown(), memory.shutdown()]);
    },
    selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
  };
}

const PROTO = path.resolve(import.meta.dirname, '../../packages/collector/proto');

/** The official definitions loaded on their own (not through the collector's codec), to write requests and read answers. */
export function protos() {
  const root = new protobuf.Root();
  root.resolvePath = (_o, target) => path.join(PROTO, target);
  root.loadSync('opentelemetry/proto/collector/metrics/v1/metrics_service.proto');
  return {
    request: root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest'),
    // partial_success is field 1 of the response (specification); the kept definitions predate it.
    response: protobuf.Type.fromJSON('Response', {
      fields: { partial: { id: 1, type: 'Partial' } },
      nested: { Partial: { fields: { rejected: { id: 1, type: 'int64' }, message: { id: 2, type: 'string' } } } },
    }),
  };
}

/** The OTLP metrics Export method, and a call's request headers as a gRPC client sends them. */
export const METHOD = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';
export const CALL = { ':method': 'POST', ':path': METHOD, 'content-type': 'application/grpc', te: 'trailers' };

/** An HTTP/2 session to `url` from a client address of its own (http2.connect's options do not take localAddress). */
export function sessionFrom(url: string, localAddress: string) {
  const { hostname, port } = new URL(url);
  const session = http2.connect(url, {
    createConnection: () => net.connect({ host: hostname, port: Number(port), localAddress }),
  });
  session.on('error', () => {});
  return session;
}

/**
 * One metrics Export call on `session` with `message` (an encoded request), as a gRPC client
 * frames it; its grpc-status, grpc-message and whether the status carried details (RetryInfo).
 */
export function exportOn(
  session: http2.ClientHttp2Session,
  message: Buffer,
): Promise<{ status: number; message: string; details: boolean }> {
  return new Promise((resolve, reject) => {
    const st = session.request(CALL);
    let headers: http2.IncomingHttpHeaders = {};
    // An error is answered trailers-only (the status in the headers), a success in the trailers.
    st.on('response', (h) => (headers = h));
    st.on('trailers', (t) => (headers = { ...headers, ...t }));
    st.on('data', () => {});
    st.on('end', () =>
      resolve({
        status: Number(headers['grpc-status']),
        message: decodeURIComponent(String(headers['grpc-message'] ?? '')),
        details: headers['grpc-status-details-bin'] !== undefined,
      }),
    );
    st.on('error', reject);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(message.length, 1);
    st.end(Buffer.concat([prefix, message]));
  });
}
