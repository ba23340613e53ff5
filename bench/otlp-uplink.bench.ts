/**
 * Bytes on the uplink per instrumented application per hour (issue 19): the reference app (50
 * metric series exported every 10 s, 5 log lines/s, 20 spans/s) for one simulated hour, its OTLP
 * requests taken by the collector's OTLP intake (the receiver's own decode, limits and mapping)
 * into the downsampler, the log pipeline and the span summarizer, each 60 s window sealed as
 * collector.ts seals it, split by priority class, encoded and re-encoded against the keyframes by
 * the sender (bench/uplink-economy.bench.ts's path), every batch acknowledged at once.
 *
 * Baseline, same run: what an OpenTelemetry Collector with the batch processor (one batch per
 * 10 s export interval) and its OTLP/HTTP exporter with gzip would send for the same app: each
 * interval's requests re-encoded as Export*ServiceRequests (protobuf) and gzipped (level 6),
 * without HTTP headers. Raw: the same requests unencoded protobuf, as the app sent them.
 *
 * Log bodies are Loghub-2k's Zookeeper lines in file order with their dataset's levels (read
 * from ../shared/corpora, never copied); metric values, span durations and ids from a seeded PRNG.
 */
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { metrics } from '@opentelemetry/api';
import { createPrng } from '@edge-telemetry/collector';
import type { BenchCase, Figure } from './harness.js';
import { referenceRequests } from './otlp.bench.js';
import { benchHealth, sender, sendWindow } from './uplink-economy.bench.js';
import { readLoghubLines } from './support/loghub-lines.js';
import { DropCounter } from '../packages/collector/src/batch/drops.js';
import { splitByPriority } from '../packages/collector/src/batch/priority-classes.js';
import { createJsonLogger } from '../packages/collector/src/runtime/logger.js';
import { createOtlpIntake } from '../packages/collector/src/sources/otlp/intake.js';
import { otlpIngestOptions, resolveOtlpReceiverOptions } from '../packages/collector/src/sources/otlp/options.js';
import { Downsampler } from '../packages/collector/src/transforms/downsample/downsampler.js';
import { ddSketchOps } from '../packages/collector/src/transforms/downsample/ddsketch-ops.js';
import { LogPipeline } from '../packages/collector/src/transforms/logs/pipeline.js';
import { logPipelineOptions } from '../packages/collector/src/transforms/logs/options.js';
import { SpanSummarizer } from '../packages/collector/src/transforms/spans/span-summarizer.js';
import { parseCsv } from '../packages/collector/src/transforms/templates/csv.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PROTO = path.join(here, '../packages/collector/proto');
const CORPORA = path.join(here, '../../shared/corpora');
const T0 = 1_764_300_000_000; // the metric requests' start (otlp.bench.ts)
const INTERVAL_MS = 10_000;
const WINDOW_MS = 60_000;
const LOGS_PER_INTERVAL = 50; // 5 lines/s
const SPANS_PER_INTERVAL = 200; // 20 spans/s
const SEVERITY = [1, 5, 9, 13, 17, 21]; // LogLevel trace..fatal -> OTLP SeverityNumber
const OPERATIONS = ['GET /cart', 'POST /pay', 'GET /product/{id}', 'GET /search', 'POST /login'];
const SEED = 19;

function requestType(file: string, name: string): protobuf.Type {
  const root = new protobuf.Root();
  root.resolvePath = (_o, t) => path.join(PROTO, t);
  root.loadSync(file);
  return root.lookupType(name);
}

const resource = { attributes: [{ key: 'service.name', value: { stringValue: 'reference-app' } }] };
const ns = (ms: number) => `${Math.round(ms * 1e6)}`;

/** The hour's log and trace requests, one of each per export interval, as protobuf bodies. */
async function logAndTraceRequests(intervals: number): Promise<{ logs: Buffer[]; traces: Buffer[] }> {
  const Logs = requestType(
    'opentelemetry/proto/collector/logs/v1/logs_service.proto',
    'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
  );
  const Traces = requestType(
    'opentelemetry/proto/collector/trace/v1/trace_service.proto',
    'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
  );
  const datasets = await readLoghubLines(path.join(CORPORA, 'loghub2k'), parseCsv);
  const zk = datasets.find((d) => d.name === 'Zookeeper') ?? datasets[0]!;
  const random = createPrng(SEED);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
  const logs: Buffer[] = [];
  const traces: Buffer[] = [];
  let line = 0;
  for (let r = 0; r < intervals; r++) {
    const t = T0 + r * INTERVAL_MS;
    const logRecords = Array.from({ length: LOGS_PER_INTERVAL }, (_, j) => {
      const k = line++ % zk.lines.length;
      return {
        timeUnixNano: ns(t + (j * INTERVAL_MS) / LOGS_PER_INTERVAL),
        severityNumber: SEVERITY[zk.levels[k]!],
        body: { stringValue: zk.lines[k] },
      };
    });
    logs.push(
      Buffer.from(Logs.encode(Logs.fromObject({ resourceLogs: [{ resource, scopeLogs: [{ logRecords }] }] })).finish()),
    );
    const spans = Array.from({ length: SPANS_PER_INTERVAL }, (_, j) => {
      const start = t + (j * INTERVAL_MS) / SPANS_PER_INTERVAL;
      // Log-normal durations around 20 ms; 1 span in 100 fails.
      const u = Math.max(random(), 1e-9);
      const v = random();
      const ms = Math.exp(3 + 0.7 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
      const failed = random() < 0.01;
      return {
        traceId: bytes(16),
        spanId: bytes(8),
        name: OPERATIONS[Math.floor(random() * OPERATIONS.length)],
        kind: 2,
        startTimeUnixNano: ns(start),
        endTimeUnixNano: ns(start + ms),
        attributes: [{ key: 'http.response.status_code', value: { intValue: failed ? 502 : 200 } }],
        status: failed ? { code: 2, message: 'upstream timeout' } : { code: 1 },
      };
    });
    traces.push(
      Buffer.from(
        Traces.encode(Traces.fromObject({ resourceSpans: [{ resource, scopeSpans: [{ spans }] }] })).finish(),
      ),
    );
  }
  return { logs, traces };
}

const run = async (): Promise<Figure[]> => {
  const { bodies: metricBodies } = referenceRequests();
  const intervals = metricBodies.length;
  const { logs: logBodies, traces: traceBodies } = await logAndTraceRequests(intervals);

  let now = T0;
  const drops = new DropCounter();
  const downsampler = new Downsampler({ windowMs: WINDOW_MS }, { sketches: ddSketchOps, report: drops });
  const logs = new LogPipeline(logPipelineOptions({}), { now: () => now, report: drops, windowMs: WINDOW_MS });
  const spans = new SpanSummarizer({}, { sketches: ddSketchOps, report: drops, significantDigits: 0 });
  const options = resolveOtlpReceiverOptions({});
  const intake = createOtlpIntake(options, {
    sinks: {
      metrics: (samples, histograms) => downsampler.ingest('otlp', { samples, histograms }, otlpIngestOptions(options)),
      log: (l) => logs.push(l),
      span: (s) => spans.add(s),
    },
    containerOf: () => undefined,
    report: drops,
    // No meter provider is registered here: the API's no-op meter.
    meter: metrics.getMeter('bench'),
    now: () => now,
    log: createJsonLogger(),
  });
  const send = await sender();
  let wire = 0;
  let batches = 0;
  let seq = 0;
  let windowRaw = 0;
  let lastWindowWire = 0;
  let rawBytes = 0;
  let gzipBytes = 0;
  const content = { summaries: 0, verbatim: 0, spanRows: 0, spans: 0, dropped: 0 };
  for (let r = 0; r < intervals; r++) {
    // The export at the interval's end carries its points, log records and spans.
    now = T0 + (r + 1) * INTERVAL_MS;
    for (const [signal, body] of [
      ['metrics', metricBodies[r]!],
      ['logs', logBodies[r]!],
      ['traces', traceBodies[r]!],
    ] as const) {
      intake.accept(
        signal,
        'protobuf',
        intake.codec.decode(signal, body, 'protobuf', options.maxDecodedValues, () => undefined),
        '127.0.0.1',
      );
      rawBytes += body.length;
      windowRaw += body.length;
      gzipBytes += gzipSync(body, { level: 6 }).length;
    }
    if ((r + 1) % (WINDOW_MS / INTERVAL_MS) !== 0) continue;
    // collector.ts's seal at full fidelity, as uplink-economy.bench.ts does it.
    const windowEnd = now;
    const windowStart = windowEnd - WINDOW_MS;
    const sealed = logs.seal(() => windowEnd + logs.lateness);
    const draft = {
      node: 'edge-node-01',
      sentAt: windowEnd,
      windowStart,
      windowEnd,
      containers: [],
      metrics: [...downsampler.flush(windowEnd), ...sealed.flatMap((w) => w.metrics)],
      logs: sealed.flatMap((w) => w.logs),
      templates: sealed.flatMap((w) => w.templates),
      events: [],
      drops: drops.take(),
      spans: spans.flush(windowStart, windowEnd),
      health: benchHealth(lastWindowWire, windowRaw),
    };
    content.summaries += draft.metrics.length;
    content.verbatim += draft.logs.length;
    content.spanRows += draft.spans.length;
    content.spans += draft.spans.reduce((n, x) => n + x.count, 0);
    content.dropped += draft.drops.reduce((n, x) => n + x.count, 0);
    windowRaw = 0;
    lastWindowWire = 0;
    for (const b of sendWindow(splitByPriority(draft), send, () => ++seq)) {
      lastWindowWire += b.wire;
      wire += b.wire;
      batches++;
    }
  }
  const common = `reference app for one simulated hour: 50 series (20 cumulative counters, 20 gauges, 10 explicit-bucket histograms) every 10 s, 5 log lines/s (Loghub-2k Zookeeper), 20 spans/s (5 operations, 1% errors)`;
  return [
    {
      name: 'otlp.uplink_bytes_per_app_hour',
      value: wire,
      unit: 'bytes',
      baseline: gzipBytes,
      ratio: gzipBytes / wire,
      note: `${common}; ours: OTLP intake -> downsampler, log pipeline, span summaries, 60 s windows, ${batches} batches through the sender against keyframes (defaults), carrying ${content.summaries} metric summaries, ${content.verbatim} verbatim log lines, ${content.spanRows} span rows of ${content.spans} spans, ${content.dropped} drops; baseline: an OpenTelemetry Collector's OTLP/HTTP exporter with gzip and the batch processor, one batch per 10 s interval (each interval's Export*ServiceRequests, protobuf, gzip 6, no HTTP headers)`,
    },
    {
      name: 'otlp.uplink_ratio_vs_raw_otlp',
      value: rawBytes / wire,
      unit: 'x',
      baseline: rawBytes,
      note: 'same hour: the OTLP protobuf bytes the app sent (uncompressed) over ours on the uplink',
    },
  ];
};

export const benches: BenchCase[] = [{ name: 'otlp.uplink', run }];
