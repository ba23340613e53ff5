/**
 * Traces are not shipped span by span: each window's spans become one row per container, service,
 * operation (span name), kind and status, as the OpenTelemetry Collector's span-metrics connector
 * keys them: the span count, their durations (sum, min, max and a DDSketch, in ms), what the error
 * spans said and the trace ids of the slowest few, for looking them up in a trace backend. Pure:
 * spans are added as they arrive and the window is flushed at its boundary, like the downsampler.
 */
import type { SpanKindValue, SpanStatusValue, SpanSummary } from '@edge-telemetry/protocol';
import { SpanStatus, TRACE_ID_PATTERN } from '@edge-telemetry/protocol';
import { fitText } from '../../batch/fit-text.js';
import type { DropReport } from '../../batch/drops.js';
import type { QuantileSketch, SketchOps } from '../downsample/sketch.js';
import { roundSignificant } from '../downsample/series.js';
import { resolveSpanSummaryOptions, type SpanSummaryOptions } from './options.js';

/** One finished span, as a receiver hands it on. */
export interface SpanRecord {
  container: string;
  service: string;
  operation: string;
  kind: SpanKindValue;
  status: SpanStatusValue;
  durationMs: number;
  /** 32 lowercase hex digits. */
  traceId: string;
  /** For an error span: its exception type, else its status message, else '' (its name is the operation). */
  error: string;
}

interface Row {
  key: Omit<SpanRecord, 'durationMs' | 'traceId' | 'error'>;
  count: number;
  sum: number;
  min: number;
  max: number;
  sketch: QuantileSketch;
  errors: string[];
  /** Slowest spans' trace ids, slowest first. */
  exemplars: { traceId: string; durationMs: number }[];
}

export interface SpanSummarizerDeps {
  sketches: SketchOps;
  report: DropReport;
  /** Significant digits of sum, min and max (0 = exact), as downsample.significantDigits. */
  significantDigits: number;
}

export class SpanSummarizer {
  readonly options: SpanSummaryOptions;
  private rows = new Map<string, Row>();

  constructor(
    options: Partial<SpanSummaryOptions>,
    private readonly deps: SpanSummarizerDeps,
  ) {
    this.options = resolveSpanSummaryOptions(options);
  }

  add(span: SpanRecord): void {
    if (!Number.isFinite(span.durationMs) || span.durationMs < 0) {
      this.deps.report.drop({ stage: 'spans.summary', reason: 'bad_duration', container: span.container });
      return;
    }
    const s = this.fitted(span);
    const k = `${s.container}\u0000${s.service}\u0000${s.operation}\u0000${s.kind}\u0000${s.status}`;
    let row = this.rows.get(k);
    if (row === undefined) {
      if (this.rows.size >= this.options.maxRows) {
        this.deps.report.drop({ stage: 'spans.cardinality', reason: 'row_cap', container: s.container });
        return;
      }
      row = {
        key: { container: s.container, service: s.service, operation: s.operation, kind: s.kind, status: s.status },
        count: 0,
        sum: 0,
        min: Infinity,
        max: -Infinity,
        sketch: this.deps.sketches.create(),
        errors: [],
        exemplars: [],
      };
      this.rows.set(k, row);
    }
    row.count++;
    row.sum += s.durationMs;
    if (s.durationMs < row.min) row.min = s.durationMs;
    if (s.durationMs > row.max) row.max = s.durationMs;
    row.sketch.add(s.durationMs);
    if (s.status === SpanStatus.error) {
      const what = s.error || s.operation;
      if (row.errors.length < this.options.errorNames && !row.errors.includes(what)) row.errors.push(what);
    }
    if (TRACE_ID_PATTERN.test(s.traceId)) keepSlowest(row.exemplars, s, this.options.exemplars);
    else this.deps.report.drop({ stage: 'spans.summary', reason: 'bad_trace_id', container: s.container });
  }

  /**
   * The span with the texts a summary row carries made to fit the protocol (fitText): a span name
   * or an exception type over 64 KiB, or not well-formed, made the codec refuse the row, which
   * batch/fit-summaries.ts then leaves out with every span it counted. Counted when cut.
   */
  private fitted(s: SpanRecord): SpanRecord {
    const operation = fitText(s.operation);
    const error = fitText(s.error);
    if (operation === s.operation && error === s.error) return s;
    this.deps.report.drop({ stage: 'spans.text', reason: 'cut', container: s.container });
    return { ...s, operation, error };
  }

  /** The window [windowStart, windowEnd) as summary rows; starts the next. */
  flush(windowStart: number, windowEnd: number): SpanSummary[] {
    const digits = this.deps.significantDigits;
    const round = (v: number) => (digits > 0 ? roundSignificant(v, digits) : v);
    const out: SpanSummary[] = [];
    for (const row of this.rows.values())
      out.push({
        ...row.key,
        start: windowStart,
        end: windowEnd,
        count: row.count,
        sum: round(row.sum),
        min: round(row.min),
        max: round(row.max),
        sketch: row.sketch.toData(),
        errors: row.errors,
        traceIds: row.exemplars.map((e) => e.traceId),
      });
    this.rows = new Map();
    return out;
  }
}

/** Keeps the `k` slowest spans' trace ids (distinct), slowest first: a handful, so a scan is cheapest. */
function keepSlowest(list: { traceId: string; durationMs: number }[], s: SpanRecord, k: number): void {
  if (k === 0 || list.some((e) => e.traceId === s.traceId)) return;
  if (list.length === k && (list[k - 1] as { durationMs: number }).durationMs >= s.durationMs) return;
  let i = list.length;
  while (i > 0 && (list[i - 1] as { durationMs: number }).durationMs < s.durationMs) i--;
  list.splice(i, 0, { traceId: s.traceId, durationMs: s.durationMs });
  if (list.length > k) list.pop();
}
