/**
 * OTLP log records into the container log pipeline's lines (pure): each record becomes one JSON
 * line (`time`, `level` from the severity, `msg` from the body, the record's attributes, its
 * trace and span ids, the service), which the pipeline's JSON parser reads like any structured
 * container log, so OTLP logs get the same redaction, templates, verbatim WARN+ within caps and
 * full-log store as container logs.
 */
import type { DropReport } from '../../batch/drops.js';
import { fitText } from '../../batch/fit-text.js';
import type { RawLogLine } from '../types.js';
import type { OtlpReceiverOptions } from './options.js';
import { capAttributes, readResource, type ResourceDeps } from './resource.js';
import {
  attributes,
  idHex,
  nanosToMs,
  num,
  valueString,
  type AnyValue,
  type KeyValue,
  type NumLike,
  type Resource,
} from './values.js';

interface LogRecord {
  timeUnixNano?: NumLike;
  observedTimeUnixNano?: NumLike;
  severityNumber?: NumLike | string;
  severityText?: string | null;
  body?: AnyValue | null;
  attributes?: KeyValue[] | null;
  traceId?: Uint8Array | number[] | string | null;
  spanId?: Uint8Array | number[] | string | null;
}
export interface LogsRequest {
  resourceLogs?: { resource?: Resource | null; scopeLogs?: { logRecords?: LogRecord[] | null }[] | null }[] | null;
}

export interface MappedLogs {
  lines: RawLogLine[];
  rejected: number;
  message: string;
}

/** SeverityNumber ranges (1-4 TRACE ... 21-24 FATAL) to the pipeline's level names. */
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export function levelOf(severityNumber: number, severityText: string): string {
  if (severityNumber >= 1 && severityNumber <= 24) return LEVELS[Math.floor((severityNumber - 1) / 4)] as string;
  return severityText !== '' ? severityText : 'info';
}

export function countLogRecords(req: LogsRequest): number {
  let n = 0;
  for (const rl of req.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) n += sl.logRecords?.length ?? 0;
  return n;
}

const SEVERITY_NAMES: Record<string, number> = Object.fromEntries(
  ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].map((n, i) => [`SEVERITY_NUMBER_${n}`, i * 4 + 1]),
);

export function mapLogs(
  req: LogsRequest,
  ctx: {
    options: Pick<
      OtlpReceiverOptions,
      'resourceAttributes' | 'maxLogRecordBytes' | 'maxAttributes' | 'maxAttributeLength'
    >;
    deps: ResourceDeps;
    report: DropReport;
    now: number;
  },
): MappedLogs {
  const out: MappedLogs = { lines: [], rejected: 0, message: '' };
  const max = ctx.options.maxLogRecordBytes;
  for (const rl of req.resourceLogs ?? []) {
    const res = readResource(rl.resource, ctx.options, ctx.deps, ctx.report);
    for (const sl of rl.scopeLogs ?? [])
      for (const r of sl.logRecords ?? []) {
        const ts = nanosToMs(r.timeUnixNano) || nanosToMs(r.observedTimeUnixNano) || ctx.now;
        const sev =
          typeof r.severityNumber === 'string' && r.severityNumber in SEVERITY_NAMES
            ? (SEVERITY_NAMES[r.severityNumber] as number)
            : num(r.severityNumber as NumLike);
        const msg = fitText(valueString(r.body), max, () =>
          ctx.report.drop({ stage: 'otlp.logs', reason: 'body_cut', container: res.container }),
        );
        const fields: Record<string, string | number> = {
          time: ts,
          level: levelOf(sev, typeof r.severityText === 'string' ? r.severityText : ''),
          msg,
        };
        if (res.service !== '') fields['service.name'] = res.service;
        const trace = idHex(r.traceId);
        if (trace !== '') fields.trace_id = trace;
        const span = idHex(r.spanId);
        if (span !== '') fields.span_id = span;
        // The pipeline parses, redacts and mines every line whole: a record is held to the length a
        // file's line is, so no request makes the pipeline hold more (a 15 MiB body was an OOM kill).
        // Held to the caps a series' attributes are (their count, each value's length), counted:
        // uncapped, a record's attributes went whole into the pipeline up to the line's bound.
        // The record's own fields overwrite attributes of the same keys: those take no place in the cap.
        const own = attributes(r.attributes);
        for (const k of Object.keys(fields)) delete own[k];
        const attrs = capAttributes(own, ctx.options, ctx.report, res.container);
        let line = JSON.stringify({ ...attrs, ...fields });
        // UTF-8 bytes are at most three per UTF-16 unit: most lines are known short by their length.
        if (line.length * 3 > 2 * max && Buffer.byteLength(line) > 2 * max) {
          line = JSON.stringify(fields);
          ctx.report.drop({ stage: 'otlp.logs', reason: 'attributes_left_out', container: res.container });
        }
        out.lines.push({
          ts: ctx.now,
          container: res.container,
          stream: 'stdout',
          line,
          rawBytes: line.length,
          offset: 0,
          end: 0,
        });
      }
  }
  return out;
}
