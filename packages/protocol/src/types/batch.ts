/**
 * The summary batch a node sends on `et/v1/{node}/up/batch`.
 *
 * Plain data only: the collector builds it, the codec in ../codec encodes it, the ingester
 * receives the same shape back from decodeBatch(). Times are Unix epoch milliseconds on the
 * node's clock; the ingester keeps its own receive time beside them (gateway clocks drift).
 */

/** Severity, ordered so that `a >= b` means "at least as severe". Wire value is the number. */
export const LogLevel = {
  trace: 0,
  debug: 1,
  info: 2,
  warn: 3,
  error: 4,
  fatal: 5,
} as const;
export type LogLevelName = keyof typeof LogLevel;
export type LogLevelValue = (typeof LogLevel)[LogLevelName];
export const LOG_LEVEL_NAMES: readonly LogLevelName[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/**
 * DDSketch state with the protocol's fixed relative accuracy (SKETCH_RELATIVE_ACCURACY).
 * Bins are dense runs starting at `offset`: counts[i] belongs to bucket index offset + i.
 * Mergeable: the ingester merges windows into coarser ones and reads p50/p95/p99 from the merge.
 */
export interface SketchData {
  /** Values whose magnitude is below the sketch's minimum indexable value. */
  zeros: number;
  positive: SketchBins;
  negative: SketchBins;
}
export interface SketchBins {
  offset: number;
  counts: number[];
}

/**
 * One series over one window: container (or '' for the host) x metric name x attributes. Series of
 * applications (OTLP, Prometheus targets) carry the attributes that tell them apart (`service.name`,
 * a target's `instance`, data-point attributes); container series carry none.
 */
export interface MetricSummary {
  /** Container name; '' is the host itself (or an application not tied to a container), '_collector' the collector's own health. */
  container: string;
  /** Dotted name with unit suffix where it helps, e.g. `cpu.usage_pct`, `mem.usage_bytes`, `net.rx_bytes_per_s`. */
  metric: string;
  /** Window start and end (ms). end - start is the window length (tiers: 60 s, 300 s, ...). */
  start: number;
  end: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  /** Scrapes in this window that produced no sample (container stopped, read failed): gaps are marked, never filled. */
  gaps: number;
  /** Counter resets detected while turning a counter into a rate. */
  resets: number;
  sketch?: SketchData;
  /**
   * Part of the series identity besides container and metric, sorted by key: resource and
   * data-point attributes. Absent (not `{}`) when there are none; an empty map decodes as absent.
   */
  attrs?: Record<string, string>;
}

export interface LogEvent {
  ts: number;
  container: string;
  level: LogLevelValue;
  message: string;
  stream: 'stdout' | 'stderr';
  /** Consecutive identical lines collapsed into this one (1 = not collapsed). */
  repeat: number;
  /** Template this line belongs to, when the miner saw it ('' otherwise). */
  templateId: string;
  fields: Record<string, string>;
}

export interface TemplateSample {
  ts: number;
  /** The variable parts of the line, in the order of the template's wildcards. */
  params: string[];
}

export interface LogTemplate {
  container: string;
  /** Stable within a node (hash of the template text at first sight). */
  id: string;
  /**
   * Tokens with `<*>` for variables. '' when the receiver already stored this text: an earlier
   * acknowledged row of the same (container, id) carried it, at most TEMPLATE_TEXT_LOOKBACK_MS
   * before this row's lastSeen.
   */
  template: string;
  level: LogLevelValue;
  /** Lines matched in this window. */
  count: number;
  firstSeen: number;
  lastSeen: number;
  samples: TemplateSample[];
  /**
   * Ids of the node's templates merged into this one since its previous row (the miner learnt
   * that the word where they differed is a parameter): their earlier rows, and the log lines that
   * name them, belong to this template. Absent when none.
   */
  merged?: string[];
}

export type ContainerEventKind =
  'start' | 'stop' | 'die' | 'oom' | 'restart' | 'health_status' | 'create' | 'destroy' | 'gap';

/** A lifecycle event, sent at once rather than at the end of the window. */
export interface ContainerEvent {
  ts: number;
  container: string;
  kind: ContainerEventKind;
  attrs: Record<string, string>;
}

export interface ContainerInfo {
  /** Engine id (full), or the cgroup path's id where there is no engine. */
  id: string;
  name: string;
  image: string;
  state: string;
  labels: Record<string, string>;
}

/** What a stage dropped and why, since the previous batch. Bounded labels only. */
export interface DropCount {
  /** e.g. `logs.throttle`, `logs.level`, `metrics.cardinality`, `outbox.evict`. */
  stage: string;
  /** e.g. `rate_limited`, `below_level`, `series_cap`, `cap_templates`. */
  reason: string;
  /** Container the drop concerns, '' for node-wide. */
  container: string;
  count: number;
}

/** OTLP span kinds, by their OTLP number (SpanKind). */
export const SpanKind = {
  unspecified: 0,
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
} as const;
export type SpanKindValue = (typeof SpanKind)[keyof typeof SpanKind];
export const SPAN_KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;

/** OTLP span status codes, by their OTLP number (Status.StatusCode). */
export const SpanStatus = { unset: 0, ok: 1, error: 2 } as const;
export type SpanStatusValue = (typeof SpanStatus)[keyof typeof SpanStatus];
export const SPAN_STATUS_NAMES = ['unset', 'ok', 'error'] as const;

/**
 * The spans of one service, operation, kind and status over one window (traces are summarized at
 * the edge, not shipped span by span), as the OpenTelemetry Collector's span-metrics connector
 * keys them. Durations are milliseconds.
 */
export interface SpanSummary {
  /** Container the spans came from ('' when none could be told). */
  container: string;
  /** The resource's `service.name`. */
  service: string;
  /** The span name. */
  operation: string;
  kind: SpanKindValue;
  status: SpanStatusValue;
  start: number;
  end: number;
  /** Spans ended in the window. */
  count: number;
  /** Duration sum, min and max (ms). */
  sum: number;
  min: number;
  max: number;
  /** DDSketch of the durations (ms). */
  sketch?: SketchData;
  /**
   * What the error spans said, distinct, at most `limits.maxSpanErrors`: each span's exception
   * type (its `exception` event), else its status message, else its name. Empty unless status is error.
   */
  errors: string[];
  /** A few trace ids (32 lowercase hex digits) of spans in this row, at most `limits.maxSpanExemplars`. */
  traceIds: string[];
}

export interface NodeHealth {
  /** Bytes this node has put on the uplink since the previous batch (all topics). */
  uplinkBytes: number;
  /** Bytes the same data would have taken raw (json-file log bytes + docker stats JSON): the uplink economy. */
  rawBytes: number;
  /** Batches waiting in the outbox and their bytes on disk. */
  queueBatches: number;
  queueBytes: number;
  /** Daily budget left in bytes, -1 when no budget is configured. */
  budgetLeftBytes: number;
  /** 0 = full fidelity; higher = degraded (coarser windows, higher log threshold). */
  degradeLevel: number;
  cpuPct: number;
  rssBytes: number;
  /** Collector version string. */
  agentVersion: string;
}

export interface Batch {
  node: string;
  /** Changes whenever the node loses its outbox; (node, epoch, seq) is the idempotency key. */
  epoch: number;
  seq: number;
  /** Node clock when the batch was sealed (ms). */
  sentAt: number;
  /** The window the batch covers (ms). Events may be flushed early in a batch of their own. */
  windowStart: number;
  windowEnd: number;
  containers: ContainerInfo[];
  metrics: MetricSummary[];
  logs: LogEvent[];
  templates: LogTemplate[];
  events: ContainerEvent[];
  drops: DropCount[];
  /** Span summaries; absent when there are none (an empty list decodes as absent). */
  spans?: SpanSummary[];
  health: NodeHealth;
}
