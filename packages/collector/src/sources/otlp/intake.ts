/**
 * What the OTLP/HTTP and OTLP/gRPC receivers share: the item-rate token bucket (backpressure,
 * with a fair share between client addresses),
 * the in-flight byte budget (what requests hold as read, inflated and decoded), mapping a decoded request into the pipeline's stages with partial
 * success, turning any failure into a refusal that both transports can answer, the connection
 * caps (one total and one count per address over both ports), and the `/metrics` counters. The
 * transports only read bodies and write answers.
 */
import { createConnectionGate, createTally, type ConnectionGate } from '@edge-telemetry/protocol/net';
import type { Meter } from '@opentelemetry/api';
import type { DropReport } from '../../batch/drops.js';
import type { CollectorErrorCode } from '../../errors.js';
import type { Logger } from '../../runtime/logger.js';
import type { SpanRecord } from '../../transforms/spans/span-summarizer.js';
import type { HistogramSample, RawLogLine, Sample } from '../types.js';
import { createFairShare } from './fair-share.js';
import {
  createOtlpCodec,
  OtlpMalformedError,
  OtlpTooManyValuesError,
  type OtlpCodec,
  type OtlpFormat,
  type OtlpSignal,
} from './codec.js';
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
  log: Pick<Logger, 'warn'>;
  codec?: OtlpCodec;
}

/** gRPC status codes (google.rpc.Code), as the specification pairs them with the HTTP answers. */
export const RPC = {
  ok: 0,
  invalidArgument: 3,
  notFound: 5,
  resourceExhausted: 8,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
} as const;

export type OtlpLimit = 'maxRequestBytes' | 'maxDecodedBytes' | 'maxDecodedValues' | 'maxInFlightBytes';

/** A request refused whole, by its HTTP status; `rpc` is the gRPC code for the same answer. */
export class OtlpRefusal extends Error {
  constructor(
    readonly http: number,
    readonly code: CollectorErrorCode,
    message: string,
    readonly retryAfterS?: number,
    /** The sources.otlp option a size or memory refusal is over (counted and logged: `requests_over_limit`). */
    readonly limit?: OtlpLimit,
  ) {
    super(message);
  }

  get rpc(): number {
    switch (this.http) {
      // 413 without retry info: RESOURCE_EXHAUSTED is retryable only with a RetryInfo (OTLP/gRPC).
      case 429:
      case 413:
        return RPC.resourceExhausted;
      case 503:
        return RPC.unavailable;
      case 404:
        return RPC.notFound;
      case 500:
        return RPC.internal;
      default:
        return RPC.invalidArgument;
    }
  }
}

export type OtlpTransport = 'http' | 'grpc';

export interface RequestHold {
  /** The client's key (clientKey of its address): the shares' and caps' key. */
  readonly client: string;
  /**
   * Takes `bytes` more (a body's next chunk, its inflated bytes, what its decode holds); a 413
   * refusal when the request would hold more than the whole budget, a 503 when the budget is
   * spent by others, or when this client's other requests hold half of it.
   */
  take(bytes: number): void;
  /** Gives back all the request took. */
  release(): void;
}

export interface OtlpIntake {
  codec: OtlpCodec;
  /** A request's hold on the in-flight byte budget, for `client` (clientKey of its socket's remoteAddress). */
  hold(client: string): RequestHold;
  /**
   * Admits (429 refusal over the item rate or, for the heaviest client while others send, over
   * its share: fair-share.ts), maps and hands on a decoded request; the Export*ServiceResponse.
   * `client`: the sender's key (RequestHold.client).
   */
  accept(signal: OtlpSignal, format: OtlpFormat, request: unknown, client: string): Buffer;
  /** Any failure of a request as the refusal to answer (a mapping bug is a counted 500, never a crash). */
  refusal(signal: OtlpSignal, err: unknown): OtlpRefusal;
  /** Counts one answered request (`status`: the HTTP status, or the gRPC code's name). */
  answered(transport: OtlpTransport, signal: OtlpSignal | 'none', status: string): void;
  /**
   * Admits each connection either transport accepts, under `maxConnections` over both and
   * `maxConnectionsPerAddress` from one address; one over a cap is closed, counted and said at most
   * once a minute.
   */
  connections: ConnectionGate;
}

/** How often a refused connection or request is logged; every one is counted. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

/**
 * A gate for a warning said at most once every `intervalMs`: true when it may be said now (it then
 * counts as said). A client at a cap or a limit sends again and again: each is counted, not logged.
 */
function atMostEvery(intervalMs: number, now: () => number): () => boolean {
  let saidAt = -Infinity;
  return () => {
    if (now() - saidAt < intervalMs) return false;
    saidAt = now();
    return true;
  };
}

export function createOtlpIntake(o: OtlpReceiverOptions, deps: OtlpReceiverDeps): OtlpIntake {
  const codec = deps.codec ?? createOtlpCodec();
  const counters = {
    requests: deps.meter.createCounter('collector.otlp.requests', {
      description: 'OTLP requests by transport (http, grpc), signal and status (HTTP status or gRPC code name)',
    }),
    items: deps.meter.createCounter('collector.otlp.items', {
      description: 'OTLP data points, log records and spans by signal and outcome (accepted, rejected, refused)',
    }),
    overLimit: deps.meter.createCounter('collector.otlp.requests_over_limit', {
      description:
        'OTLP requests refused over a size or memory limit, by signal and limit (maxRequestBytes, maxDecodedBytes, maxDecodedValues: 413; maxInFlightBytes: 413 for a request over it alone, else 503)',
    }),
    connectionsRefused: deps.meter.createCounter('collector.otlp.connections_refused', {
      description:
        'OTLP connections (HTTP and gRPC) closed as accepted, by the cap they met (reason: total = maxConnections, address = maxConnectionsPerAddress)',
    }),
  };
  const maySayRefusal = atMostEvery(REFUSAL_LOG_INTERVAL_MS, deps.now);
  const maySayOverLimit = atMostEvery(REFUSAL_LOG_INTERVAL_MS, deps.now);
  let overLimitUnsaid = 0;
  let inFlight = 0;
  /** In-flight bytes by client key. */
  const heldBy = createTally();
  let tokens = o.burstItems;
  let refilled = deps.now();
  const shares = createFairShare();

  /**
   * Takes `n` items of `client` from the bucket, or says how many seconds until it could. A request
   * needs `n` tokens, or a full bucket when it is larger (then it leaves the bucket in debt, which
   * every client waits out). The heaviest client, while others send, leaves the lower half of the
   * bucket to them (fair-share.ts): it needs half the bucket more than that, or a full bucket for
   * a request over half of it, which leaves the others what is left of their half. Its request over
   * the whole bucket would leave them debt instead: that one is `never` taken while others send.
   */
  const admit = (n: number, client: string): number | 'never' => {
    if (o.itemsPerSecond === 0) return 0;
    const now = deps.now();
    tokens = Math.min(o.burstItems, tokens + ((now - refilled) * o.itemsPerSecond) / 1000);
    refilled = now;
    const heaviest = shares.heaviest(client, n, now);
    shares.asked(client, n, now);
    if (heaviest && n > o.burstItems) return 'never';
    // Capped at the bucket: a threshold above it was never met, and its Retry-After was a lie.
    const threshold = Math.min(o.burstItems, (heaviest ? o.burstItems / 2 : 0) + n);
    if (tokens >= threshold) {
      tokens -= n;
      return 0;
    }
    return Math.max(1, Math.ceil((threshold - tokens) / o.itemsPerSecond));
  };

  const ctx = () => ({ options: o, deps, report: deps.report, now: deps.now() });

  const accept = (signal: OtlpSignal, format: OtlpFormat, request: unknown, client: string): Buffer => {
    const items =
      signal === 'metrics'
        ? countMetricPoints(request as MetricsRequest)
        : signal === 'logs'
          ? countLogRecords(request as LogsRequest)
          : countSpans(request as TracesRequest);
    const wait = admit(items, client);
    if (wait === 'never') {
      // Refused for good, so the client does not retry what can never be taken; it drops the
      // request: counted where drops are seen centrally.
      counters.items.add(items, { signal, outcome: 'refused' });
      deps.report.drop({ stage: `otlp.${signal}`, reason: 'over_burst', container: '' }, items);
      throw new OtlpRefusal(
        413,
        'ET_ERR_OTLP_TOO_LARGE',
        `${items} items in one request, over sources.otlp.burstItems (${o.burstItems}) while other clients send: export in smaller batches or raise burstItems`,
      );
    }
    if (wait > 0) {
      counters.items.add(items, { signal, outcome: 'refused' });
      throw new OtlpRefusal(
        429,
        'ET_ERR_OTLP_BUSY',
        `over itemsPerSecond (${o.itemsPerSecond}) or this client's share`,
        wait,
      );
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

  /** Counts a refusal over a size or memory limit; says it at most once a minute, with how many since. */
  const overLimit = (signal: OtlpSignal, r: OtlpRefusal) => {
    counters.overLimit.add(1, { signal, limit: r.limit ?? '' });
    overLimitUnsaid++;
    if (!maySayOverLimit()) return;
    deps.log.warn(`OTLP request refused (${r.http}): ${r.message}`, {
      signal,
      limit: r.limit,
      refusedSinceLastSaid: overLimitUnsaid,
    });
    overLimitUnsaid = 0;
  };

  const connections = createConnectionGate(o, (reason, address) => {
    counters.connectionsRefused.add(1, { reason });
    // A client at a cap opens connection after connection: say it once a minute, count them all.
    if (!maySayRefusal()) return;
    deps.log.warn(
      `OTLP connection refused: sources.otlp.${reason === 'total' ? 'maxConnections' : 'maxConnectionsPerAddress'} reached`,
      { reason, address, refused: connections.refused() },
    );
  });

  return {
    codec,
    connections,
    hold(client) {
      let held = 0;
      return {
        client,
        take(bytes) {
          // What a request holds as read, inflated and decoded (decode-cost.ts) is what the process
          // holds for it: one over the whole budget alone never fits (not retryable); beside others,
          // it waits its turn at the client. Taken alone whatever it held, one 15 KB gzip of a 15
          // MiB JSON log record had the collector OOM-killed in its 128 MiB.
          if (held + bytes > o.maxInFlightBytes)
            throw new OtlpRefusal(
              413,
              'ET_ERR_OTLP_TOO_LARGE',
              `the request would hold over sources.otlp.maxInFlightBytes (${o.maxInFlightBytes}) as read, inflated and decoded: export in smaller batches`,
              undefined,
              'maxInFlightBytes',
            );
          if (inFlight + bytes > o.maxInFlightBytes)
            throw new OtlpRefusal(503, 'ET_ERR_OTLP_BUSY', 'too many request bytes in flight', 1, 'maxInFlightBytes');
          // One client's requests beside its first hold at most half the budget: four connections of one
          // client trickling 4 MiB bodies held all 16 MiB, and every other application got 503.
          const mine = heldBy.get(client);
          if (mine > held && mine + bytes > o.maxInFlightBytes / 2)
            throw new OtlpRefusal(
              503,
              'ET_ERR_OTLP_BUSY',
              "this client's requests hold half the in-flight bytes",
              1,
              'maxInFlightBytes',
            );
          inFlight += bytes;
          heldBy.add(client, bytes);
          held += bytes;
        },
        release() {
          inFlight -= held;
          heldBy.add(client, -held);
          held = 0;
        },
      };
    },
    accept,
    refusal(signal, err) {
      if (err instanceof OtlpRefusal) {
        if (err.limit !== undefined) overLimit(signal, err);
        return err;
      }
      // Refused before decoding, as a body over the byte limits is.
      if (err instanceof OtlpTooManyValuesError) {
        const r = new OtlpRefusal(413, 'ET_ERR_OTLP_TOO_LARGE', err.message, undefined, 'maxDecodedValues');
        overLimit(signal, r);
        return r;
      }
      if (err instanceof OtlpMalformedError) {
        // Refused whole: the client is told (400) and drops it, so it is counted where drops are seen centrally.
        deps.report.drop({ stage: `otlp.${signal}`, reason: 'malformed', container: '' });
        return new OtlpRefusal(400, 'ET_ERR_OTLP_MALFORMED', err.message);
      }
      deps.report.drop({ stage: `otlp.${signal}`, reason: 'internal_error', container: '' });
      return new OtlpRefusal(500, 'ET_ERR_OTLP_INTERNAL', (err as Error).message);
    },
    answered(transport, signal, status) {
      counters.requests.add(1, { transport, signal, status });
    },
  };
}
