/**
 * OTLP request decoding and response encoding with protobufjs over the official
 * opentelemetry-proto definitions kept in `proto/` (see proto/README.md for their version). No
 * hand-written wire decoding: protobuf bodies are decoded by the library's reflection, JSON bodies
 * (OTLP/JSON: lowerCamelCase keys, 64-bit integers as strings, trace and span ids as hex) are
 * parsed as JSON, their shape checked (json-shape.ts), and read by the same mapping, which accepts
 * both.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { decodeCost } from './decode-cost.js';
import { jsonValues, protobufValues, type DecodedSize } from './decoded-values.js';
import { jsonShapeError } from './json-shape.js';

export type OtlpSignal = 'metrics' | 'logs' | 'traces';
export type OtlpFormat = 'protobuf' | 'json';

/** Where the .proto files are, from src/ or dist/ alike (both are two levels below the package). */
const PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../proto');

const SERVICES: Record<OtlpSignal, { file: string; pkg: string; name: string; rejected: string }> = {
  metrics: {
    file: 'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
    pkg: 'opentelemetry.proto.collector.metrics.v1',
    name: 'Metrics',
    rejected: 'rejected_data_points',
  },
  logs: {
    file: 'opentelemetry/proto/collector/logs/v1/logs_service.proto',
    pkg: 'opentelemetry.proto.collector.logs.v1',
    name: 'Logs',
    rejected: 'rejected_log_records',
  },
  traces: {
    file: 'opentelemetry/proto/collector/trace/v1/trace_service.proto',
    pkg: 'opentelemetry.proto.collector.trace.v1',
    name: 'Trace',
    rejected: 'rejected_spans',
  },
};

export class OtlpMalformedError extends Error {}

/** A body that would decode into more values than the receiver's `maxDecodedValues` (decoded-values.ts). */
export class OtlpTooManyValuesError extends Error {}

export interface OtlpCodec {
  /**
   * The request as a message object (protobuf) or plain object (JSON); throws OtlpMalformedError,
   * or OtlpTooManyValuesError, before decoding, when it would decode into more than `maxValues` values.
   * Before decoding, `take` is given what the decode may hold beyond the body (decode-cost.ts): it
   * throws to refuse it.
   */
  decode(
    signal: OtlpSignal,
    body: Buffer,
    format: OtlpFormat,
    maxValues: number,
    take: (bytes: number) => void,
  ): unknown;
  /** Export*ServiceResponse, with partial_success when something was rejected. */
  response(signal: OtlpSignal, format: OtlpFormat, rejected: number, message: string): Buffer;
  /** google.rpc.Status for an error answer; with `retryAfterS`, a google.rpc.RetryInfo detail saying when to retry. */
  status(format: OtlpFormat, code: number, message: string, retryAfterS?: number): Buffer;
}

/** The gRPC service of a signal, e.g. `opentelemetry.proto.collector.metrics.v1.MetricsService`. */
export function grpcServiceName(signal: OtlpSignal): string {
  return `${SERVICES[signal].pkg}.${SERVICES[signal].name}Service`;
}

export function createOtlpCodec(protoDir = PROTO_DIR): OtlpCodec {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(protoDir, target);
  root.loadSync(Object.values(SERVICES).map((s) => s.file));
  // The definitions kept (see proto/README.md) predate partial success: its two fields are added here with the numbers the specification gives them, so an
  // answer carries it in protobuf as in JSON.
  for (const s of Object.values(SERVICES)) {
    const ns = root.lookup(s.pkg) as protobuf.Namespace;
    const partial = new protobuf.Type(`Export${s.name}PartialSuccess`)
      .add(new protobuf.Field(s.rejected, 1, 'int64'))
      .add(new protobuf.Field('error_message', 2, 'string'));
    ns.add(partial);
    ns.lookupType(`Export${s.name}ServiceResponse`).add(new protobuf.Field('partial_success', 1, partial.name));
  }
  // google.rpc.Status with its RetryInfo detail, as the specification's throttling answers carry them (field numbers of googleapis' status.proto, error_details.proto).
  const any = new protobuf.Type('Any')
    .add(new protobuf.Field('type_url', 1, 'string'))
    .add(new protobuf.Field('value', 2, 'bytes'));
  const duration = new protobuf.Type('Duration')
    .add(new protobuf.Field('seconds', 1, 'int64'))
    .add(new protobuf.Field('nanos', 2, 'int32'));
  root.define('google.protobuf').add(any).add(duration);
  const status = new protobuf.Type('Status')
    .add(new protobuf.Field('code', 1, 'int32'))
    .add(new protobuf.Field('message', 2, 'string'))
    .add(new protobuf.Field('details', 3, 'google.protobuf.Any', 'repeated'));
  const retryInfo = new protobuf.Type('RetryInfo').add(
    new protobuf.Field('retry_delay', 1, 'google.protobuf.Duration'),
  );
  root.define('google.rpc').add(status).add(retryInfo);
  root.resolveAll();
  const request = (s: OtlpSignal) => root.lookupType(`${SERVICES[s].pkg}.Export${SERVICES[s].name}ServiceRequest`);
  const responseType = (s: OtlpSignal) =>
    root.lookupType(`${SERVICES[s].pkg}.Export${SERVICES[s].name}ServiceResponse`);
  const types = {
    metrics: { req: request('metrics'), res: responseType('metrics') },
    logs: { req: request('logs'), res: responseType('logs') },
    traces: { req: request('traces'), res: responseType('traces') },
  };
  const camel = (s: string) => s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

  return {
    decode(signal, body, format, maxValues, take) {
      const size = (): DecodedSize => {
        if (format === 'json') return jsonValues(body, maxValues);
        try {
          return protobufValues(types[signal].req, body, maxValues);
        } catch (err) {
          // Not decoded: the decoder reads more leniently than the count (wire types), and what the
          // count could not read is what it could not bound.
          throw new OtlpMalformedError(
            `not a protobuf Export${SERVICES[signal].name}ServiceRequest: ${(err as Error).message}`,
          );
        }
      };
      const decoded = size();
      if (decoded.values > maxValues)
        throw new OtlpTooManyValuesError(
          `the body decodes into more than sources.otlp.maxDecodedValues (${maxValues}) values: export in smaller batches`,
        );
      take(decodeCost(format, body, decoded));
      if (format === 'protobuf') {
        try {
          return types[signal].req.decode(body);
        } catch (err) {
          throw new OtlpMalformedError(
            `not a protobuf Export${SERVICES[signal].name}ServiceRequest: ${(err as Error).message}`,
          );
        }
      }
      let v: unknown;
      try {
        v = JSON.parse(body.toString('utf8'));
      } catch (err) {
        throw new OtlpMalformedError(`not JSON: ${(err as Error).message}`);
      }
      const type = `Export${SERVICES[signal].name}ServiceRequest`;
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        throw new OtlpMalformedError(`not a JSON ${type} object`);
      const wrong = jsonShapeError(signal, v as Record<string, unknown>);
      if (wrong !== '') throw new OtlpMalformedError(`${wrong} (OTLP/JSON ${type})`);
      return v;
    },
    response(signal, format, rejected, message) {
      if (rejected === 0 && message === '') return format === 'json' ? Buffer.from('{}') : Buffer.alloc(0);
      const field = SERVICES[signal].rejected;
      if (format === 'json')
        return Buffer.from(JSON.stringify({ partialSuccess: { [camel(field)]: rejected, errorMessage: message } }));
      // The fields added above keep the names they were given (snake case), unlike those read from the .proto files.
      const t = types[signal].res;
      return Buffer.from(
        t.encode(t.fromObject({ partial_success: { [field]: rejected, error_message: message } })).finish(),
      );
    },
    status(format, code, message, retryAfterS) {
      const RETRY_INFO = 'type.googleapis.com/google.rpc.RetryInfo';
      if (format === 'json')
        return Buffer.from(
          JSON.stringify(
            retryAfterS === undefined
              ? { code, message }
              : { code, message, details: [{ '@type': RETRY_INFO, retryDelay: `${retryAfterS}s` }] },
          ),
        );
      const details =
        retryAfterS === undefined
          ? []
          : [
              {
                type_url: RETRY_INFO,
                value: retryInfo.encode(retryInfo.fromObject({ retry_delay: { seconds: retryAfterS } })).finish(),
              },
            ];
      return Buffer.from(status.encode(status.fromObject({ code, message, details })).finish());
    },
  };
}
