/**
 * The OTLP/HTTP receiver (`POST /v1/metrics`, `/v1/logs`, `/v1/traces`; protobuf or JSON; gzip),
 * answering as the OTLP specification says: 200 with partial success for what it refused inside a
 * valid request, 400 for a body that does not decode, 413 over the size limits, 415 for other
 * content types or encodings, 429 (item rate) and 503 (bytes in flight) with Retry-After when the
 * pipeline is full. Memory is bounded by `maxInFlightBytes` (bodies read or inflating at once) and
 * `maxDecodedBytes` per request: nothing waits in an unbounded queue; the client keeps what we
 * refused and retries. Accepted items go straight into the pipeline's stages (deps), which have
 * their own caps.
 */
import http from 'node:http';
import zlib from 'node:zlib';
import type { Meter } from '@opentelemetry/api';
import type { DropReport } from '../../batch/drops.js';
import { CollectorError, type CollectorErrorCode } from '../../errors.js';
import type { SpanRecord } from '../../transforms/spans/span-summarizer.js';
import type { HistogramSample, RawLogLine, Sample } from '../types.js';
import { createOtlpCodec, OtlpMalformedError, type OtlpCodec, type OtlpFormat, type OtlpSignal } from './codec.js';
import { countLogRecords, mapLogs, type LogsRequest } from './map-logs.js';
import { countMetricPoints, mapMetrics, type MetricsRequest } from './map-metrics.js';
import { countSpans, mapSpans, type TracesRequest } from './map-spans.js';
import type { OtlpReceiverOptions } from './options.js';
import type { ResourceDeps } from './resource.js';

export interface OtlpSinks {
  metrics(samples: Sample[], histograms: HistogramSample[]): void;
  log(line: RawLogLine): void;
  span(s: SpanRecord): void;
}

export interface OtlpReceiverDeps extends ResourceDeps {
  sinks: OtlpSinks;
  report: DropReport;
  meter: Meter;
  now: () => number;
  codec?: OtlpCodec;
}

export interface OtlpReceiver {
  url: string;
  close(): Promise<void>;
}

const PATHS: Record<string, OtlpSignal> = { '/v1/metrics': 'metrics', '/v1/logs': 'logs', '/v1/traces': 'traces' };

/** gRPC status codes the specification pairs with these HTTP answers (google.rpc.Status.code). */
const RPC = {
  invalidArgument: 3,
  notFound: 5,
  resourceExhausted: 8,
  unavailable: 14,
  unimplemented: 12,
  internal: 13,
} as const;

class Refusal extends Error {
  constructor(
    readonly http: number,
    readonly code: CollectorErrorCode,
    message: string,
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

export async function startOtlpReceiver(o: OtlpReceiverOptions, deps: OtlpReceiverDeps): Promise<OtlpReceiver> {
  const codec = deps.codec ?? createOtlpCodec();
  const counters = {
    requests: deps.meter.createCounter('collector.otlp.requests', {
      description: 'OTLP/HTTP requests by signal and HTTP status',
    }),
    items: deps.meter.createCounter('collector.otlp.items', {
      description: 'OTLP data points, log records and spans by signal and outcome (accepted, rejected, refused)',
    }),
  };
  let inFlight = 0;
  let tokens = o.burstItems;
  let refilled = deps.now();

  /** Takes `n` items from the bucket, or says how many seconds until it could (a request larger than the burst needs a full bucket). */
  const admit = (n: number): number => {
    if (o.itemsPerSecond === 0) return 0;
    const now = deps.now();
    tokens = Math.min(o.burstItems, tokens + ((now - refilled) * o.itemsPerSecond) / 1000);
    refilled = now;
    const need = Math.min(n, o.burstItems);
    if (tokens >= need) {
      tokens -= n;
      return 0;
    }
    return Math.max(1, Math.ceil((need - tokens) / o.itemsPerSecond));
  };

  const handle = async (req: http.IncomingMessage, signal: OtlpSignal, format: OtlpFormat) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > o.maxRequestBytes)
      throw new Refusal(
        413,
        'ET_ERR_OTLP_TOO_LARGE',
        `body of ${declared} bytes is over maxRequestBytes (${o.maxRequestBytes})`,
      );
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'gzip' && encoding !== 'identity')
      throw new Refusal(415, 'ET_ERR_OTLP_ENCODING', `content-encoding ${encoding}: only gzip or identity`);
    const reserve = Number.isFinite(declared) ? declared : o.maxRequestBytes;
    // A lone request is always read (maxRequestBytes bounds it); others wait their turn at the client.
    if (inFlight > 0 && inFlight + reserve > o.maxInFlightBytes)
      throw new Refusal(503, 'ET_ERR_OTLP_BUSY', 'too many request bytes in flight', 1);
    inFlight += reserve;
    try {
      let body = await readBody(req, o.maxRequestBytes);
      if (encoding === 'gzip') body = await gunzip(body, o.maxDecodedBytes);
      else if (body.length > o.maxDecodedBytes)
        throw new Refusal(413, 'ET_ERR_OTLP_TOO_LARGE', `body is over maxDecodedBytes (${o.maxDecodedBytes})`);
      return accept(signal, format, codec.decode(signal, body, format));
    } finally {
      inFlight -= reserve;
    }
  };

  const ctx = () => ({ options: o, deps, report: deps.report, now: deps.now() });

  const accept = (signal: OtlpSignal, format: OtlpFormat, request: unknown): Buffer => {
    const items =
      signal === 'metrics'
        ? countMetricPoints(request as MetricsRequest)
        : signal === 'logs'
          ? countLogRecords(request as LogsRequest)
          : countSpans(request as TracesRequest);
    const wait = admit(items);
    if (wait > 0) {
      counters.items.add(items, { signal, outcome: 'refused' });
      throw new Refusal(429, 'ET_ERR_OTLP_BUSY', `over itemsPerSecond (${o.itemsPerSecond})`, wait);
    }
    let rejected: number;
    let message: string;
    if (signal === 'metrics') {
      const m = mapMetrics(request as MetricsRequest, ctx());
      deps.sinks.metrics(m.samples, m.histograms);
      ({ rejected, message } = m);
    } else if (signal === 'logs') {
      const l = mapLogs(request as LogsRequest, ctx());
      for (const line of l.lines) deps.sinks.log(line);
      ({ rejected, message } = l);
    } else {
      const s = mapSpans(request as TracesRequest, ctx());
      for (const span of s.spans) deps.sinks.span(span);
      ({ rejected, message } = s);
    }
    counters.items.add(items - rejected, { signal, outcome: 'accepted' });
    if (rejected > 0) counters.items.add(rejected, { signal, outcome: 'rejected' });
    return codec.response(signal, format, rejected, message);
  };

  const server = http.createServer((req, res) => {
    const signal = PATHS[(req.url ?? '').split('?')[0] as string];
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    const format: OtlpFormat = type === 'application/json' ? 'json' : 'protobuf';
    const answer = (status: number, body: Buffer, headers: Record<string, string> = {}) => {
      counters.requests.add(1, { signal: signal ?? 'none', status: String(status) });
      res.writeHead(status, {
        'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf',
        ...headers,
      });
      res.end(body);
    };
    const refuse = (r: Refusal) => {
      // The body may still be arriving: read and discard it, so the client sees the answer, not a reset.
      req.resume();
      const rpc =
        r.http === 429
          ? RPC.resourceExhausted
          : r.http === 503
            ? RPC.unavailable
            : r.http === 404
              ? RPC.notFound
              : RPC.invalidArgument;
      answer(
        r.http,
        codec.status(format, rpc, `${r.code}: ${r.message}`),
        r.retryAfterS !== undefined ? { 'retry-after': String(r.retryAfterS) } : {},
      );
    };
    if (signal === undefined || req.method !== 'POST') {
      refuse(new Refusal(404, 'ET_ERR_OTLP_NOT_FOUND', 'POST /v1/metrics, /v1/logs or /v1/traces'));
      return;
    }
    if (type !== 'application/json' && type !== 'application/x-protobuf') {
      refuse(
        new Refusal(
          415,
          'ET_ERR_OTLP_CONTENT_TYPE',
          `content-type ${type || '(none)'}: application/x-protobuf or application/json`,
        ),
      );
      return;
    }
    handle(req, signal, format).then(
      (body) => answer(200, body),
      (err: unknown) => {
        if (err instanceof Refusal) return refuse(err);
        if (err instanceof OtlpMalformedError) return refuse(new Refusal(400, 'ET_ERR_OTLP_MALFORMED', err.message));
        // A mapping bug must not take the receiver down: the client is told, the drop counted.
        deps.report.drop({ stage: `otlp.${signal}`, reason: 'internal_error', container: '' });
        refuse(new Refusal(500, 'ET_ERR_OTLP_INTERNAL', (err as Error).message));
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new CollectorError(
          'ET_ERR_OTLP_LISTEN',
          err.code === 'EADDRINUSE'
            ? `${o.host}:${o.port} is in use (sources.otlp.port); choose another port or 0 for any free one`
            : `${o.host}:${o.port}: ${err.message}`,
        ),
      ),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** The body, refused (413) as soon as it passes `max` bytes. */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(new Refusal(413, 'ET_ERR_OTLP_TOO_LARGE', `body is over maxRequestBytes (${max})`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function gunzip(body: Buffer, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    zlib.gunzip(body, { maxOutputLength: max }, (err, out) => {
      if (!err) return resolve(out);
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        return reject(new Refusal(413, 'ET_ERR_OTLP_TOO_LARGE', `inflated body is over maxDecodedBytes (${max})`));
      reject(new Refusal(400, 'ET_ERR_OTLP_ENCODING', `gzip: ${err.message}`));
    }),
  );
}
