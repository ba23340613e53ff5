/**
 * The OTLP receiver's cost per data point: decode (protobufjs) + mapping + the downsampler's
 * ingest, against decoding the same requests with the library alone, in the same run. The requests
 * are a reference app's metric exports (50 series: 20 counters, 20 gauges, 10 explicit-bucket
 * histograms, with service and route attributes), encoded with protobufjs from the same
 * definitions, each with later times than the one before (as a 10 s exporter sends them).
 */
import protobuf from 'protobufjs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, type BenchCase, type Figure } from './harness.js';
import { createOtlpCodec } from '../packages/collector/src/sources/otlp/codec.js';
import { mapMetrics, type MetricsRequest } from '../packages/collector/src/sources/otlp/map-metrics.js';
import { otlpIngestOptions, resolveOtlpReceiverOptions } from '../packages/collector/src/sources/otlp/options.js';
import { Downsampler } from '../packages/collector/src/transforms/downsample/downsampler.js';
import { ddSketchOps } from '../packages/collector/src/transforms/downsample/ddsketch-ops.js';
import { DropCounter } from '../packages/collector/src/batch/drops.js';

const PROTO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../packages/collector/proto');
const REQUESTS = 360; // an hour of 10 s exports
const ROUNDS = 5;
const T0 = 1_764_300_000_000;
const BOUNDS = [5, 10, 25, 50, 100, 250, 500, 1000];

function cpuMs(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
}

/** An hour of the reference app's metric exports (one every 10 s), as protobuf bodies. */
export function referenceRequests(): { bodies: Buffer[]; points: number } {
  const root = new protobuf.Root();
  root.resolvePath = (_o, t) => path.join(PROTO, t);
  root.loadSync('opentelemetry/proto/collector/metrics/v1/metrics_service.proto');
  const Req = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
  const attrs = (route: string) => [{ key: 'http.route', value: { stringValue: route } }];
  const ns = (ms: number) => `${ms}000000`;
  const bodies: Buffer[] = [];
  let points = 0;
  for (let r = 0; r < REQUESTS; r++) {
    const t = T0 + r * 10_000;
    const metrics: unknown[] = [];
    for (let i = 0; i < 20; i++)
      metrics.push({
        name: `app.requests.${i}`,
        sum: {
          aggregationTemporality: 2,
          isMonotonic: true,
          dataPoints: [
            { attributes: attrs(`/r${i}`), startTimeUnixNano: ns(T0), timeUnixNano: ns(t), asInt: r * 17 + i },
          ],
        },
      });
    for (let i = 0; i < 20; i++)
      metrics.push({
        name: `app.queue.${i}`,
        gauge: { dataPoints: [{ attributes: attrs(`/q${i}`), timeUnixNano: ns(t), asDouble: (r * 7 + i) % 50 }] },
      });
    for (let i = 0; i < 10; i++) {
      const counts = BOUNDS.map((_, k) => r * (k + 1)).concat([r]);
      metrics.push({
        name: `app.latency.${i}`,
        histogram: {
          aggregationTemporality: 2,
          dataPoints: [
            {
              attributes: attrs(`/h${i}`),
              startTimeUnixNano: ns(T0),
              timeUnixNano: ns(t),
              count: counts.reduce((a, b) => a + b, 0),
              sum: r * 1234.5,
              bucketCounts: counts,
              explicitBounds: BOUNDS,
            },
          ],
        },
      });
    }
    points += 50;
    const req = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'reference-app' } }] },
          scopeMetrics: [{ metrics }],
        },
      ],
    };
    bodies.push(Buffer.from(Req.encode(Req.fromObject(req)).finish()));
  }
  return { bodies, points };
}

const receive: BenchCase = {
  name: 'otlp.receive',
  run: async () => {
    const { bodies, points } = referenceRequests();
    const codec = createOtlpCodec();
    const options = resolveOtlpReceiverOptions({});
    const drops = new DropCounter();
    const deps = { containerOf: () => undefined };
    const oursMs: number[] = [];
    const decodeMs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      decodeMs.push(
        cpuMs(() => {
          for (const b of bodies) codec.decode('metrics', b, 'protobuf', options.maxDecodedValues, () => undefined);
        }),
      );
      const downsampler = new Downsampler({ windowMs: 60_000 }, { sketches: ddSketchOps, report: drops });
      oursMs.push(
        cpuMs(() => {
          for (let i = 0; i < bodies.length; i++) {
            const req = codec.decode(
              'metrics',
              bodies[i]!,
              'protobuf',
              options.maxDecodedValues,
              () => undefined,
            ) as MetricsRequest;
            const m = mapMetrics(req, { options, deps, report: drops, now: T0 + i * 10_000 });
            downsampler.ingest('otlp', m, otlpIngestOptions(options));
            if (i % 6 === 5) downsampler.flush(T0 + (i + 1) * 10_000);
          }
        }),
      );
    }
    const perS = (ms: number) => points / (ms / 1000);
    const value = perS(median(oursMs));
    const baseline = perS(median(decodeMs));
    const figure: Figure = {
      name: 'otlp.points_per_s_per_core',
      value,
      unit: 'points/s',
      baseline,
      ratio: value / baseline,
      note: `decode (protobufjs) + mapping + downsampler ingest and a window flush per 6 requests, ${REQUESTS} protobuf ExportMetricsServiceRequests of a reference app (50 series: 20 cumulative counters, 20 gauges, 10 explicit-bucket histograms of 9 buckets; ${bodies.reduce((n, b) => n + b.length, 0)} B); baseline: protobufjs decoding the same bodies alone; CPU time of one thread, median of ${ROUNDS} interleaved rounds; no HTTP`,
    };
    return [figure];
  },
};

export const benches: BenchCase[] = [receive];
