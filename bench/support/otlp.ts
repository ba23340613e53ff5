/**
 * The batch's sections as OTLP protobuf: ExportMetricsServiceRequest and ExportLogsServiceRequest
 * (the bodies an OTLP/HTTP exporter POSTs, before gzip). Baseline (c) of the uplink economy
 * benchmark, so the mapping keeps what our batch carries wherever OTLP has a place for it.
 *
 * Field numbers are those of opentelemetry-proto (opentelemetry/proto/{collector/*,metrics/v1,
 * logs/v1,common/v1,resource/v1}/*.proto, v1 API); each write below names its field.
 *
 * Mapping:
 * - one ResourceMetrics / ResourceLogs per container (resource attributes host.name,
 *   container.name, and from the batch's container list container.id, container.image.name and
 *   the labels as container.label.<key>), one scope per resource;
 * - a MetricSummary is a Metric with one SummaryDataPoint: count, sum and quantiles 0 (min), 0.5,
 *   0.95, 0.99 (read from our sketch) and 1 (max); gaps and resets as attributes when non-zero.
 *   OTLP has no place for `last` nor for the mergeable sketch itself, so this baseline carries
 *   less than our batch does;
 * - node health as Gauge metrics and drop counts as one delta Sum, on the host resource, in the
 *   request that carries the metric summaries;
 * - a LogEvent is a LogRecord (severity, body, log.iostream, repeat, template id, parsed fields);
 *   a LogTemplate is a LogRecord whose body is the template, with its id and count as attributes,
 *   and each of its samples a LogRecord with the template id and the parameters as an array;
 *   container events are LogRecords with event_name.
 */
import {
  DDSketch,
  type Batch,
  type ContainerInfo,
  type LogLevelValue,
  type MetricSummary,
} from '@edge-telemetry/protocol';
import { ProtoWriter } from './protobuf-writer.js';

export type OtlpInput = Pick<
  Batch,
  'node' | 'sentAt' | 'containers' | 'metrics' | 'logs' | 'templates' | 'events' | 'drops' | 'health'
>;

/** SeverityNumber (logs.proto): TRACE=1, DEBUG=5, INFO=9, WARN=13, ERROR=17, FATAL=21. */
const SEVERITY: Record<LogLevelValue, number> = { 0: 1, 1: 5, 2: 9, 3: 13, 4: 17, 5: 21 };
const SEVERITY_TEXT: Record<LogLevelValue, string> = {
  0: 'TRACE',
  1: 'DEBUG',
  2: 'INFO',
  3: 'WARN',
  4: 'ERROR',
  5: 'FATAL',
};
/** AggregationTemporality (metrics.proto): DELTA = 1. */
const DELTA = 1;
const QUANTILES = [0.5, 0.95, 0.99] as const;
const SCOPE = { name: 'edge-telemetry-collector' };

type Attr = readonly [key: string, value: string | number | readonly string[]];

const nanos = (ms: number): bigint => BigInt(Math.round(ms)) * 1_000_000n;

/** AnyValue (common.proto): string_value = 1, int_value = 3, double_value = 4, array_value = 5 (ArrayValue.values = 1). */
function anyValue(w: ProtoWriter, v: Attr[1]): void {
  if (typeof v === 'string') w.string(1, v);
  else if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) w.int64(3, v);
    else w.double(4, v);
  } else w.message(5, (arr) => v.forEach((s) => arr.message(1, (item) => item.string(1, s))));
}

/** KeyValue (common.proto): key = 1, value = 2. Repeated under the parent's attributes field. */
function attributes(w: ProtoWriter, field: number, attrs: readonly Attr[]): void {
  for (const [k, v] of attrs) {
    w.message(field, (kv) => {
      kv.string(1, k);
      kv.message(2, (av) => anyValue(av, v));
    });
  }
}

function resourceAttrs(node: string, container: string, info: ContainerInfo | undefined): Attr[] {
  const out: Attr[] = [['host.name', node]];
  if (container !== '') out.push(['container.name', container]);
  if (info) {
    out.push(['container.id', info.id], ['container.image.name', info.image]);
    for (const [k, v] of Object.entries(info.labels)) out.push([`container.label.${k}`, v]);
  }
  return out;
}

/** Rows grouped by container, in order of first appearance. */
function byContainer<T>(rows: readonly T[], container: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const c = container(r);
    let list = out.get(c);
    if (list === undefined) out.set(c, (list = []));
    list.push(r);
  }
  return out;
}

/** SummaryDataPoint (metrics.proto): start_time_unix_nano = 2, time_unix_nano = 3 (fixed64), count = 4 (fixed64), sum = 5, quantile_values = 6, attributes = 7. */
function summaryPoint(w: ProtoWriter, m: MetricSummary): void {
  w.fixed64(2, nanos(m.start));
  w.fixed64(3, nanos(m.end));
  w.fixed64(4, BigInt(m.count));
  w.double(5, m.sum);
  const sketch = m.sketch ? DDSketch.fromData(m.sketch) : undefined;
  const points: Array<[number, number]> = [[0, m.min]];
  if (sketch && sketch.count > 0) for (const q of QUANTILES) points.push([q, sketch.quantile(q)]);
  points.push([1, m.max]);
  // ValueAtQuantile: quantile = 1, value = 2 (doubles).
  for (const [q, v] of points) {
    w.message(6, (vq) => {
      vq.double(1, q);
      vq.double(2, v);
    });
  }
  const extra: Attr[] = [];
  if (m.gaps > 0) extra.push(['gaps', m.gaps]);
  if (m.resets > 0) extra.push(['resets', m.resets]);
  attributes(w, 7, extra);
}

/** NumberDataPoint (metrics.proto): start_time_unix_nano = 2, time_unix_nano = 3, as_double = 4, attributes = 7, as_int = 6 (sfixed64). */
function numberPoint(w: ProtoWriter, start: number, end: number, value: number, attrs: readonly Attr[]): void {
  if (start > 0) w.fixed64(2, nanos(start));
  w.fixed64(3, nanos(end));
  w.double(4, value);
  attributes(w, 7, attrs);
}

/** InstrumentationScope (common.proto): name = 1. */
function scope(w: ProtoWriter, field: number): void {
  w.message(field, (s) => s.string(1, SCOPE.name));
}

/**
 * ExportMetricsServiceRequest (collector/metrics/v1/metrics_service.proto): resource_metrics = 1.
 * ResourceMetrics: resource = 1 (Resource.attributes = 1), scope_metrics = 2.
 * ScopeMetrics: scope = 1, metrics = 2. Metric: name = 1, gauge = 5, sum = 7, summary = 11.
 * Gauge / Summary: data_points = 1. Sum: data_points = 1, aggregation_temporality = 2, is_monotonic = 3.
 * Undefined when the batch holds no metrics.
 */
export function encodeOtlpMetrics(b: OtlpInput): Uint8Array | undefined {
  if (b.metrics.length === 0) return undefined;
  const infos = new Map(b.containers.map((c) => [c.name, c]));
  const groups = byContainer(b.metrics, (m) => m.container);
  if (!groups.has('')) groups.set('', []);
  const w = new ProtoWriter(64 * 1024);
  for (const [container, metrics] of groups) {
    w.message(1, (rm) => {
      rm.message(1, (res) => attributes(res, 1, resourceAttrs(b.node, container, infos.get(container))));
      rm.message(2, (sm) => {
        scope(sm, 1);
        for (const m of metrics) {
          sm.message(2, (metric) => {
            metric.string(1, m.metric);
            metric.message(11, (summary) => summary.message(1, (dp) => summaryPoint(dp, m)));
          });
        }
        if (container === '') hostMetrics(sm, b);
      });
    });
  }
  return w.finish();
}

/** Node health as gauges and the drop counts as a delta Sum, into the host's ScopeMetrics (metrics = 2). */
function hostMetrics(sm: ProtoWriter, b: OtlpInput): void {
  const h = b.health;
  const gauges: Array<[string, number]> = [
    ['et.uplink.bytes', h.uplinkBytes],
    ['et.raw.bytes', h.rawBytes],
    ['et.queue.batches', h.queueBatches],
    ['et.queue.bytes', h.queueBytes],
    ['et.budget.left_bytes', h.budgetLeftBytes],
    ['et.degrade.level', h.degradeLevel],
    ['process.cpu.utilization', h.cpuPct],
    ['process.memory.usage', h.rssBytes],
  ];
  for (const [name, value] of gauges) {
    sm.message(2, (metric) => {
      metric.string(1, name);
      metric.message(5, (g) =>
        g.message(1, (dp) => numberPoint(dp, 0, b.sentAt, value, [['agent.version', h.agentVersion]])),
      );
    });
  }
  if (b.drops.length === 0) return;
  sm.message(2, (metric) => {
    metric.string(1, 'et.drops');
    metric.message(7, (sum) => {
      for (const d of b.drops) {
        sum.message(1, (dp) =>
          numberPoint(dp, 0, b.sentAt, d.count, [
            ['stage', d.stage],
            ['reason', d.reason],
            ['container', d.container],
          ]),
        );
      }
      sum.uint64(2, DELTA);
      sum.bool(3, true);
    });
  });
}

/**
 * LogRecord (logs.proto): time_unix_nano = 1 (fixed64), severity_number = 2, severity_text = 3,
 * body = 5 (AnyValue), attributes = 6, event_name = 12.
 */
function logRecord(
  w: ProtoWriter,
  ts: number,
  level: LogLevelValue | undefined,
  body: string | undefined,
  attrs: readonly Attr[],
  eventName?: string,
): void {
  w.fixed64(1, nanos(ts));
  if (level !== undefined) {
    w.uint64(2, SEVERITY[level]);
    w.string(3, SEVERITY_TEXT[level]);
  }
  if (body !== undefined) w.message(5, (av) => anyValue(av, body));
  attributes(w, 6, attrs);
  if (eventName !== undefined) w.string(12, eventName);
}

type LogRow =
  | { kind: 'log'; container: string; row: OtlpInput['logs'][number] }
  | { kind: 'template'; container: string; row: OtlpInput['templates'][number] }
  | { kind: 'event'; container: string; row: OtlpInput['events'][number] };

/**
 * ExportLogsServiceRequest (collector/logs/v1/logs_service.proto): resource_logs = 1.
 * ResourceLogs: resource = 1, scope_logs = 2. ScopeLogs: scope = 1, log_records = 2.
 * Undefined when the batch holds no log rows.
 */
export function encodeOtlpLogs(b: OtlpInput): Uint8Array | undefined {
  const rows: LogRow[] = [
    ...b.logs.map((row): LogRow => ({ kind: 'log', container: row.container, row })),
    ...b.templates.map((row): LogRow => ({ kind: 'template', container: row.container, row })),
    ...b.events.map((row): LogRow => ({ kind: 'event', container: row.container, row })),
  ];
  if (rows.length === 0) return undefined;
  const infos = new Map(b.containers.map((c) => [c.name, c]));
  const w = new ProtoWriter(64 * 1024);
  for (const [container, group] of byContainer(rows, (r) => r.container)) {
    w.message(1, (rl) => {
      rl.message(1, (res) => attributes(res, 1, resourceAttrs(b.node, container, infos.get(container))));
      rl.message(2, (sl) => {
        scope(sl, 1);
        for (const r of group) writeLogRow(sl, r);
      });
    });
  }
  return w.finish();
}

function writeLogRow(sl: ProtoWriter, r: LogRow): void {
  if (r.kind === 'log') {
    const e = r.row;
    const attrs: Attr[] = [['log.iostream', e.stream]];
    if (e.repeat > 1) attrs.push(['log.repeat', e.repeat]);
    if (e.templateId !== '') attrs.push(['log.template.id', e.templateId]);
    for (const [k, v] of Object.entries(e.fields)) attrs.push([k, v]);
    sl.message(2, (lr) => logRecord(lr, e.ts, e.level, e.message, attrs));
  } else if (r.kind === 'template') {
    const t = r.row;
    sl.message(2, (lr) =>
      logRecord(lr, t.lastSeen, t.level, t.template, [
        ['log.template.id', t.id],
        ['log.template.count', t.count],
        ['log.template.first_seen_ms', t.firstSeen],
      ]),
    );
    for (const s of t.samples)
      sl.message(2, (lr) =>
        logRecord(lr, s.ts, undefined, undefined, [
          ['log.template.id', t.id],
          ['log.template.params', s.params],
        ]),
      );
  } else {
    const e = r.row;
    sl.message(2, (lr) => logRecord(lr, e.ts, undefined, undefined, Object.entries(e.attrs), `container.${e.kind}`));
  }
}
