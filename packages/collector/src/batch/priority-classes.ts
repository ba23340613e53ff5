/**
 * The priority classes and the split of one window into them: the one place that says what each
 * class holds. Each window leaves as one batch per class, so that the outbox can evict the least
 * valuable data first without re-encoding anything (docs/architecture.md: raw info samples go before
 * templates, before warnings and errors, before metric summaries), and the runtime can withhold
 * the least valuable classes when the uplink degrades.
 *
 *   class 0  metric summaries, events, containers, drops, health  (always sent: it is the heartbeat)
 *   class 1  WARN and above, verbatim
 *   class 2  templates with their counts, without samples
 *   class 3  info and below verbatim, and the templates' samples (as template rows with count 0,
 *            so that the ingester can add counts across classes without double counting)
 *
 * Within each batch the rows are put in the order that compresses best (row-order.ts). A class
 * whose rows would not fit one frame leaves as several batches of that class (`MAX_BATCH_TEXT_BYTES`).
 */
import {
  LogLevel,
  limits,
  type Batch,
  type LogEvent,
  type LogTemplate,
  type MetricSummary,
} from '@edge-telemetry/protocol';
import {
  byContainerThenFirstSeen,
  byContainerThenTime,
  byMetricThenContainer,
  byServiceThenOperation,
} from './row-order.js';

export const PriorityClass = {
  /** Metric and span summaries, container events, node health. */
  summaries: 0,
  /** Warning and error log lines. */
  warnError: 1,
  /** Log templates with counts. */
  templates: 2,
  /** Info samples and raw info lines. */
  infoSamples: 3,
} as const;
export type PriorityClassValue = (typeof PriorityClass)[keyof typeof PriorityClass];
export const PRIORITY_CLASSES = 4;

/** The DropCount reason for what is lost of each class (outbox evictions, degrade withholding). */
export const PRIORITY_CLASS_REASONS = ['summaries', 'warn_error', 'templates', 'info_samples'] as const;

/** A batch before the uplink gives it its (epoch, seq). */
export type BatchDraft = Omit<Batch, 'epoch' | 'seq'>;

/**
 * Text bytes (messages, fields, template texts, sample values) one batch of log rows carries at
 * most. The codec refuses a frame over the wire limit (1 MiB) or the decoded limit (16 MiB): one
 * oversized class was lost whole (a storm of 4,000 distinct 2 KB ERROR lines in a minute; it took
 * the whole seal with it then, before the uplink left refused batches out). Half the wire limit fits even text that does not
 * compress, with room for the rest of the frame; a normal window is far below it and stays one batch.
 */
export const MAX_BATCH_TEXT_BYTES = limits.maxBatchWireBytes / 2;

export function splitByPriority(window: BatchDraft): Array<{ priorityClass: PriorityClassValue; draft: BatchDraft }> {
  const empty = { containers: [], metrics: [], logs: [], templates: [], events: [], drops: [] };
  const base = {
    node: window.node,
    sentAt: window.sentAt,
    windowStart: window.windowStart,
    windowEnd: window.windowEnd,
    // The ingester sums the uplink and raw bytes of every batch's health: the heartbeat carries the
    // window's, the other batches zero (with the same figure in each class, a window of four classes
    // counted its bytes four times on the API and the uplink dashboards). Gauges go in every batch.
    health: { ...window.health, uplinkBytes: 0, rawBytes: 0 },
  };
  const logs = [...window.logs].sort(byContainerThenTime);
  const severe = logs.filter((l) => l.level >= LogLevel.warn);
  const mild = logs.filter((l) => l.level < LogLevel.warn);
  const templates = [...window.templates].sort(byContainerThenFirstSeen);
  const counts: LogTemplate[] = templates.map((t) => ({ ...t, samples: [] }));
  const samples: LogTemplate[] = templates.filter((t) => t.samples.length > 0).map((t) => ({ ...t, count: 0 }));
  const metrics = [...window.metrics].sort(byMetricThenContainer);

  // Many labelled series (an application's, up to downsample.maxSeries) may not fit one frame: the
  // first heartbeat batch carries the rest of the window, the others only metrics (10,000 series
  // of eight 24-character labels made 1.3 MB, and the codec refused the window's every metric).
  const [firstMetrics = [], ...moreMetrics] =
    upperBoundMetrics(metrics) <= MAX_BATCH_TEXT_BYTES ? [metrics] : pieces(metrics, metricBytes);
  const out: Array<{ priorityClass: PriorityClassValue; draft: BatchDraft }> = [
    {
      priorityClass: PriorityClass.summaries,
      draft: {
        ...base,
        ...empty,
        health: window.health,
        containers: window.containers,
        metrics: firstMetrics,
        events: window.events,
        drops: window.drops,
        ...(window.spans?.length ? { spans: [...window.spans].sort(byServiceThenOperation) } : {}),
      },
    },
    ...moreMetrics.map((part) => ({
      priorityClass: PriorityClass.summaries,
      draft: { ...base, ...empty, metrics: part },
    })),
  ];
  const add = (priorityClass: PriorityClassValue, logs: LogEvent[], templates: LogTemplate[]) => {
    if (logs.length === 0 && templates.length === 0) return;
    if (upperBound(logs, templates) <= MAX_BATCH_TEXT_BYTES) {
      out.push({ priorityClass, draft: { ...base, ...empty, logs, templates } });
      return;
    }
    for (const part of pieces(logs, logBytes)) out.push({ priorityClass, draft: { ...base, ...empty, logs: part } });
    for (const part of pieces(templates, templateBytes))
      out.push({ priorityClass, draft: { ...base, ...empty, templates: part } });
  };
  add(PriorityClass.warnError, severe, []);
  add(PriorityClass.templates, [], counts);
  add(PriorityClass.infoSamples, mild, samples);
  return out;
}

/** Room a row takes besides its texts (times, level, counts, lengths), generously. */
const ROW_OVERHEAD = 64;

/** Over the rows' UTF-8 bytes without encoding them (a UTF-16 unit is at most 3): the common, small case stays cheap. */
function upperBound(logs: LogEvent[], templates: LogTemplate[]): number {
  let n = 0;
  for (const l of logs) {
    n += ROW_OVERHEAD + 3 * (l.message.length + l.container.length + l.templateId.length);
    for (const k in l.fields) n += 3 * (k.length + (l.fields[k] as string).length);
  }
  for (const t of templates) {
    n += ROW_OVERHEAD + 3 * (t.template.length + t.container.length + t.id.length);
    for (const x of t.samples) for (const v of x.params) n += 3 * v.length + 2;
  }
  return n;
}

/** upperBound for metric summaries. */
function upperBoundMetrics(metrics: MetricSummary[]): number {
  let n = 0;
  for (const m of metrics) {
    n += ROW_OVERHEAD + 3 * (m.container.length + m.metric.length) + sketchBytes(m);
    for (const k in m.attrs) n += 3 * (k.length + (m.attrs[k] as string).length);
  }
  return n;
}

function metricBytes(m: MetricSummary): number {
  let n = ROW_OVERHEAD + Buffer.byteLength(m.container) + Buffer.byteLength(m.metric) + sketchBytes(m);
  for (const k in m.attrs) n += Buffer.byteLength(k) + Buffer.byteLength(m.attrs[k] as string);
  return n;
}

/** A bin's count is a varint of at most 10 bytes. */
function sketchBytes(m: MetricSummary): number {
  const s = m.sketch;
  return s === undefined ? 0 : 10 * (s.positive.counts.length + s.negative.counts.length);
}

function logBytes(l: LogEvent): number {
  let n = ROW_OVERHEAD + Buffer.byteLength(l.message) + Buffer.byteLength(l.container) + l.templateId.length;
  for (const k in l.fields) n += Buffer.byteLength(k) + Buffer.byteLength(l.fields[k] as string);
  return n;
}

function templateBytes(t: LogTemplate): number {
  let n = ROW_OVERHEAD + Buffer.byteLength(t.template) + Buffer.byteLength(t.container) + t.id.length;
  for (const x of t.samples) for (const v of x.params) n += Buffer.byteLength(v) + 2;
  return n;
}

/** Consecutive runs of rows (their order kept) of at most MAX_BATCH_TEXT_BYTES each; a larger row goes alone. */
function pieces<T>(rows: T[], bytes: (row: T) => number): T[][] {
  const out: T[][] = [];
  let run: T[] = [];
  let n = 0;
  for (const row of rows) {
    const b = bytes(row);
    if (run.length > 0 && n + b > MAX_BATCH_TEXT_BYTES) {
      out.push(run);
      run = [];
      n = 0;
    }
    run.push(row);
    n += b;
  }
  if (run.length > 0) out.push(run);
  return out;
}
