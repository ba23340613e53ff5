/**
 * OTLP spans into the span summarizer's records (pure): service from the resource, operation the
 * span name, kind and status by their OTLP numbers, duration end - start in ms, and for error
 * spans what went wrong (the exception event's type, else the status message).
 */
import { SpanKind, SpanStatus, type SpanKindValue, type SpanStatusValue } from '@edge-telemetry/protocol';
import type { DropReport } from '../../batch/drops.js';
import type { SpanRecord } from '../../transforms/spans/span-summarizer.js';
import type { OtlpReceiverOptions } from './options.js';
import { readResource, type ResourceDeps } from './resource.js';
import { attributes, idHex, nanosBetween, num, type KeyValue, type NumLike, type Resource } from './values.js';

interface Span {
  traceId?: Uint8Array | number[] | string | null;
  name?: string | null;
  kind?: NumLike | string;
  startTimeUnixNano?: NumLike;
  endTimeUnixNano?: NumLike;
  status?: { code?: NumLike | string; message?: string | null } | null;
  events?: { name?: string | null; attributes?: KeyValue[] | null }[] | null;
}
export interface TracesRequest {
  resourceSpans?: { resource?: Resource | null; scopeSpans?: { spans?: Span[] | null }[] | null }[] | null;
}

export interface MappedSpans {
  spans: SpanRecord[];
  rejected: number;
  message: string;
}

const KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const STATUSES = ['UNSET', 'OK', 'ERROR'];

function enumValue(v: NumLike | string, names: string[], prefix: string): number {
  if (typeof v === 'string' && v.startsWith(prefix)) return names.indexOf(v.slice(prefix.length));
  const n = num(v as NumLike);
  return Number.isInteger(n) ? n : 0;
}

export function countSpans(req: TracesRequest): number {
  let n = 0;
  for (const rs of req.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) n += ss.spans?.length ?? 0;
  return n;
}

export function mapSpans(
  req: TracesRequest,
  ctx: { options: Pick<OtlpReceiverOptions, 'resourceAttributes'>; deps: ResourceDeps; report: DropReport },
): MappedSpans {
  const out: MappedSpans = { spans: [], rejected: 0, message: '' };
  for (const rs of req.resourceSpans ?? []) {
    const res = readResource(rs.resource, ctx.options, ctx.deps, ctx.report);
    for (const ss of rs.scopeSpans ?? [])
      for (const s of ss.spans ?? []) {
        const durationMs = nanosBetween(s.startTimeUnixNano, s.endTimeUnixNano) / 1e6;
        const kind = enumValue(s.kind, KINDS, 'SPAN_KIND_');
        const status = enumValue(s.status?.code, STATUSES, 'STATUS_CODE_');
        if (!(durationMs >= 0) || kind < SpanKind.unspecified || kind > SpanKind.consumer || status < 0 || status > 2) {
          out.rejected++;
          if (out.message === '') out.message = 'a span with an end before its start, or an unknown kind or status';
          ctx.report.drop({ stage: 'otlp.traces', reason: 'bad_span', container: res.container });
          continue;
        }
        let error = '';
        if (status === SpanStatus.error) {
          const exception = s.events?.find((e) => e.name === 'exception');
          error =
            (exception ? attributes(exception.attributes)['exception.type'] : undefined) ?? s.status?.message ?? '';
        }
        out.spans.push({
          container: res.container,
          service: res.service,
          operation: typeof s.name === 'string' ? s.name : '',
          kind: kind as SpanKindValue,
          status: status as SpanStatusValue,
          durationMs,
          traceId: idHex(s.traceId),
          error,
        });
      }
  }
  return out;
}
