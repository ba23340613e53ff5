import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_MAX_LINE_BYTES } from './logfiles-source.js';

/**
 * Heap bytes the collector charges `maxInFlightBytes` for each value a request decodes into, by
 * format (measured 24 and 176, rounded up: collector sources/otlp/decode-cost.ts). Here so that the
 * config check holds `maxDecodedValues` to the budget it is charged against.
 */
export const OTLP_VALUE_BYTES = { json: 32, protobuf: 192 } as const;

export const OtlpReceiverOptionsSchema = Type.Object({
  host: Type.String({
    default: '127.0.0.1',
    description:
      "Address the OTLP/HTTP and OTLP/gRPC receivers bind: loopback (default) for applications on the gateway's host network, the gateway's container-network address for applications in containers.",
  }),
  port: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 4318,
    description: 'OTLP/HTTP port (`/v1/metrics`, `/v1/logs`, `/v1/traces`); 0 = any free port.',
  }),
  grpc: Type.Boolean({
    default: false,
    description:
      'Also serve OTLP/gRPC on `grpcPort` (same decoding, limits and item rate as OTLP/HTTP; RESOURCE_EXHAUSTED / UNAVAILABLE with RetryInfo when full).',
  }),
  grpcPort: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 4317,
    description: 'OTLP/gRPC port, when `grpc` is on; 0 = any free port.',
  }),
  maxRequestBytes: Type.Integer({
    minimum: 1024,
    default: 4 * 1024 * 1024,
    description:
      'Largest OTLP/HTTP request body as sent (compressed or not); larger ones get 413. (gRPC: one limit, `maxDecodedBytes`, as sent and inflated.)',
  }),
  maxDecodedBytes: Type.Integer({
    minimum: 1024,
    default: 4 * 1024 * 1024,
    description:
      "Largest body after gzip inflation (a small gzip bomb is stopped here); larger ones get 413 (gRPC: RESOURCE_EXHAUSTED without retry info; the OpenTelemetry Collector's gRPC receiver also takes 4 MiB by default). The OpenTelemetry JS SDK's full batches are far below it: 512 log records 250 KB as JSON (112 KB protobuf), 512 spans 460 KB (184 KB), 1,100 points 290 KB (115 KB). A body decodes into several times its size (see `maxInFlightBytes`): 16 MiB let one 15 KB gzip of a 15 MiB log record take the collector over its 128 MiB.",
  }),
  maxDecodedValues: Type.Integer({
    minimum: 1000,
    default: 60_000,
    description:
      'Most values one request may decode into (protobuf: messages, list elements and other fields; JSON: objects, arrays and their members), counted from its bytes before it is decoded; more get 413 (gRPC: RESOURCE_EXHAUSTED without retry info). The decoded request is what takes the heap, up to 176 B a value (empty protobuf messages; charged to `maxInFlightBytes` before decoding, 192 B a protobuf value): a 4 MiB body of empty data points decoded into 262 MiB. An SDK export of 2,000 points with three attributes each is about 32,000. Checked at start-up: `maxDecodedValues` x 192 B plus `maxDecodedBytes` must fit `maxInFlightBytes`, so that a lone request of this many values with a small body is not refused by the budget instead (100,000 x 192 B was over the default 16 MiB alone). A larger body is charged more (as sent and inflated, a copy when chunked, its strings copied out, at two bytes a character unless the body is ASCII, which a protobuf body nearly never is): a lone request of many values and megabytes of strings can still get 413 as over `maxInFlightBytes` (counted in `requests_over_limit`).',
  }),
  maxInFlightBytes: Type.Integer({
    minimum: 1024,
    default: 16 * 1024 * 1024,
    description:
      'Memory that requests being read or decoded may hold at once, over all connections: their bytes as sent and as inflated, and what decoding will make of them, estimated before it (measured: JSON the text and its strings once more, protobuf its strings, each at two bytes a character unless the body is ASCII; and 32 B a JSON value, 192 B a protobuf one). Beyond it requests get 503 with Retry-After, so memory stays bounded whatever the clients send; a request that would hold more than all of it alone gets 413 (not retryable). The requests of one client address beside its first hold at most half of it, so that one client cannot shut the others out.',
  }),
  maxConnections: Type.Integer({
    minimum: 1,
    default: 256,
    description:
      'OTLP connections held at once, OTLP/HTTP and OTLP/gRPC together; the next is closed as it is accepted, counted (`collector.otlp.connections_refused`, reason `total`) and logged at most once a minute. Each idle connection costs memory: 15,000 took a collector from 93 to 193 MB RSS.',
  }),
  maxConnectionsPerAddress: Type.Integer({
    minimum: 1,
    default: 64,
    description:
      "OTLP connections (HTTP and gRPC together) held at once from one client address (at most `maxConnections`), so that one client's idle keep-alive connections cannot shut the other applications out; over it, counted with reason `address`. Applications on the gateway's host network all come from loopback: raise it if many of them export there.",
  }),
  itemsPerSecond: Type.Integer({
    minimum: 0,
    default: 20_000,
    description:
      'Data points, log records and spans taken per second (token bucket, burst of `burstItems`, shared by all applications); a request beyond it gets 429 with Retry-After and is taken whole when retried. While another client address sends, the one that asked for the most of late is taken only while half the bucket is left after it (its request over half the bucket: on a full bucket; over the whole bucket: refused for good, 413). 0 = no limit.',
  }),
  burstItems: Type.Integer({
    minimum: 1,
    default: 100_000,
    description:
      'Token bucket size of `itemsPerSecond`: the most items one burst of requests may bring at once. A single larger request is taken on a full bucket and leaves it in debt, only while no other client address sends (else 413): size it above the largest export of one application.',
  }),
  maxSeries: Type.Integer({
    minimum: 1,
    default: 2000,
    description:
      "Most metric series the applications' OTLP metrics may hold in the downsampler (within `downsample.maxSeries`); new series beyond it are dropped and counted (`metrics.cardinality`/`source_series_cap`).",
  }),
  maxSeriesPerContainer: Type.Integer({
    minimum: 1,
    default: 1000,
    description:
      "Most of `maxSeries` the OTLP series of one container may hold (the container a resource names; applications whose resources name none share one), so that one application's attribute explosion leaves the others their series: one with 3,000 counter values took all 2,000 and two other applications' metrics got none. Beyond it counted as `metrics.cardinality`/`container_series_cap`; at `maxSeries` or above it does nothing. The container is what the resource declares, not checked: an application that sends under several names, or whose pod name changes at each restart, takes a share for each until its old series are forgotten.",
  }),
  resourceAttributes: Type.Array(Type.String(), {
    default: ['service.name', 'service.namespace', 'deployment.environment'],
    description:
      "Resource attributes kept in a metric series' identity (the data points' own attributes always are); the others (process id, SDK version, host) would split one series per restart.",
  }),
  maxAttributes: Type.Integer({
    minimum: 0,
    maximum: 64,
    default: 16,
    description:
      "Most attributes in a series' identity, and of a log record; further ones (by key order) are left out and counted (`otlp.attributes`/`too_many`).",
  }),
  maxAttributeLength: Type.Integer({
    minimum: 1,
    default: 256,
    description:
      "Attribute values (a series' and a log record's) longer than this are cut to it, counted (`otlp.attributes`/`value_cut`).",
  }),
  maxLogRecordBytes: Type.Integer({
    minimum: 1024,
    default: DEFAULT_MAX_LINE_BYTES,
    description:
      "Longest log record as the log pipeline's line (its body and attributes as JSON), as `sources.logFiles.maxLineBytes` for files: a longer body is cut to it, and a record still longer leaves its attributes out; each counted (`otlp.logs`/`body_cut`, `attributes_left_out`). A 15 MiB body had the collector OOM-killed in its 128 MiB.",
  }),
});

export type OtlpReceiverOptions = Static<typeof OtlpReceiverOptionsSchema>;
