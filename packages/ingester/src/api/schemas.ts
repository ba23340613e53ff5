/** Request and response schemas of the HTTP API v1 (typebox: JSON Schema for fastify and OpenAPI). */
import { Type, type Static } from '@sinclair/typebox';
import { LevelNameSchema, limits } from '@edge-telemetry/protocol';

export const ErrorBody = Type.Object(
  { code: Type.String(), message: Type.String(), statusCode: Type.Integer() },
  { $id: 'Error' },
);

/** What this ingester dropped of one node for its quotas (quotas/node-quotas.ts), since it started. */
const quotaDropFields = {
  messages: Type.Integer({ description: 'Messages dropped for the message or byte rate.' }),
  bytes: Type.Integer({ description: 'Their payload bytes.' }),
  deadLetters: Type.Integer({ description: 'Dead-letter rows not stored for the daily allowance.' }),
  deadLetterBytes: Type.Integer(),
};

export const NodeParams = Type.Object({ node: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' }) });
export type NodeParamsT = Static<typeof NodeParams>;

/** Times are epoch milliseconds or ISO-8601 strings, within the protocol's range (a larger one is a 400, not a query). */
export const TimeParam = Type.Union([
  Type.Integer({ minimum: 0, maximum: limits.maxTimestampMs }),
  Type.String({ format: 'date-time', maxLength: 64 }),
]);

export const NodeSummary = Type.Object({
  node: Type.String(),
  lastSeen: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  online: Type.Boolean(),
  containers: Type.Array(Type.String(), {
    description:
      'Containers the node listed (Docker, cgroups) or sent logs, spans or application metrics of, over the last 24 hours.',
  }),
  uplinkBytes: Type.Number({ description: 'Bytes the node reported on its uplink over the last 24 hours.' }),
  rawBytes: Type.Number({
    description:
      'Bytes the same data would have taken raw (json-file logs + docker stats JSON) over the last 24 hours.',
  }),
  drops: Type.Number({
    description: 'Items the node dropped (filters, throttles, caps, evictions) over the last 24 hours.',
  }),
  quotaDrops: Type.Optional(
    Type.Object(quotaDropFields, {
      description: 'What this ingester dropped of the node for its quotas since it started.',
    }),
  ),
});
export const NodesResponse = Type.Array(NodeSummary);

export const MetricsQuery = Type.Object({
  container: Type.Optional(Type.String({ maxLength: 256 })),
  metric: Type.Optional(Type.String({ maxLength: 256 })),
  service: Type.Optional(
    Type.String({ maxLength: 256, description: "Only applications' series with this `service.name` attribute." }),
  ),
  from: Type.Optional(TimeParam),
  to: Type.Optional(TimeParam),
  step: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 86_400, description: 'Bucket in seconds; default: range / 300, at least 60.' }),
  ),
});
export type MetricsQueryT = Static<typeof MetricsQuery>;

const Num = Type.Union([Type.Number(), Type.Null()]);
export const MetricPoint = Type.Object({
  t: Type.String({ format: 'date-time' }),
  count: Type.Number(),
  sum: Type.Number(),
  min: Type.Number(),
  max: Type.Number(),
  avg: Num,
  last: Type.Number(),
  gaps: Type.Number(),
  p50: Num,
  p95: Num,
  p99: Num,
});
const Attributes = Type.Record(Type.String(), Type.String(), {
  description:
    "What tells an application's series apart besides container and metric (`service.name`, a target's `instance`, data-point attributes); {} for container series.",
});
export const MetricSeries = Type.Object({
  container: Type.String(),
  metric: Type.String(),
  attrs: Attributes,
  points: Type.Array(MetricPoint),
});
export const MetricsResponse = Type.Object({
  node: Type.String(),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  step: Type.Integer(),
  source: Type.Union([Type.Literal('raw'), Type.Literal('hourly')], {
    description: 'hourly = the hourly rollup, used for steps of 3600 s or more.',
  }),
  series: Type.Array(MetricSeries),
});

export const SpansQuery = Type.Object({
  container: Type.Optional(Type.String({ maxLength: 256 })),
  service: Type.Optional(Type.String({ maxLength: 256 })),
  operation: Type.Optional(Type.String({ maxLength: 256 })),
  from: Type.Optional(TimeParam),
  to: Type.Optional(TimeParam),
  step: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 86_400, description: 'Bucket in seconds; default: range / 300, at least 60.' }),
  ),
});
export type SpansQueryT = Static<typeof SpansQuery>;

export const SpanPoint = Type.Object({
  t: Type.String({ format: 'date-time' }),
  count: Type.Number(),
  rate: Type.Number({ description: 'Spans per second over the step.' }),
  sum: Type.Number({ description: 'Duration sum (ms).' }),
  min: Num,
  max: Num,
  avg: Num,
  p50: Num,
  p95: Num,
  p99: Num,
});
export const SpanSeries = Type.Object({
  container: Type.String(),
  service: Type.String(),
  operation: Type.String({ description: 'The span name.' }),
  kind: Type.String({ description: 'Unspecified, Internal, Server, Client, Producer or Consumer.' }),
  status: Type.String({ description: 'Unset, Ok or Error.' }),
  count: Type.Number({ description: 'Spans over the range.' }),
  errors: Type.Number({ description: 'Spans with status Error over the range.' }),
  errorNames: Type.Array(Type.String(), {
    description: "What the error spans said: exception type, else status message, else the span's name.",
  }),
  traceIds: Type.Array(Type.String(), { description: 'A few trace ids of these spans, for a trace backend.' }),
  p50: Num,
  p95: Num,
  p99: Num,
  points: Type.Array(SpanPoint),
});
export const SpansResponse = Type.Object({
  node: Type.String(),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  step: Type.Integer(),
  spans: Type.Array(SpanSeries),
});

export const LogsQuery = Type.Object({
  container: Type.Optional(Type.String({ maxLength: 256 })),
  level: Type.Optional(LevelNameSchema({ description: 'Minimum severity.' })),
  from: Type.Optional(TimeParam),
  to: Type.Optional(TimeParam),
  q: Type.Optional(
    Type.String({ minLength: 1, maxLength: 256, description: 'Case-insensitive substring of the message.' }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});
export type LogsQueryT = Static<typeof LogsQuery>;

export const LogEntry = Type.Object({
  ts: Type.String({ format: 'date-time' }),
  container: Type.String(),
  level: Type.String(),
  message: Type.String(),
  stream: Type.String(),
  repeat: Type.Integer(),
  templateId: Type.String(),
  fields: Type.Record(Type.String(), Type.String()),
});
export const LogsResponse = Type.Object({
  node: Type.String(),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  logs: Type.Array(LogEntry),
  /** True when `limit` cut the result: narrow the range or raise the limit. */
  truncated: Type.Boolean(),
  /** True when the range was not searched down to `from` within the read bounds: ask again with to = searchedFrom. */
  partial: Type.Boolean(),
  /** Rows older than this were not searched (`from` when the whole range was). */
  searchedFrom: Type.String({ format: 'date-time' }),
});

export const Healthz = Type.Object({ status: Type.Literal('ok') });
export const Readyz = Type.Object({
  ready: Type.Boolean(),
  clickhouse: Type.Boolean(),
  broker: Type.Boolean(),
  writer: Type.Object({
    backpressured: Type.Boolean(),
    failing: Type.Boolean(),
    queuedBatches: Type.Integer(),
    queuedRows: Type.Integer(),
    queuedBytes: Type.Integer(),
  }),
});

export const TemplatesQuery = Type.Object({
  container: Type.Optional(Type.String({ maxLength: 256 })),
  from: Type.Optional(TimeParam),
  to: Type.Optional(TimeParam),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});
export type TemplatesQueryT = Static<typeof TemplatesQuery>;

export const TemplatesResponse = Type.Object({
  node: Type.String(),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  templates: Type.Array(
    Type.Object({
      container: Type.String(),
      templateId: Type.String(),
      template: Type.String(),
      level: Type.String(),
      count: Type.Number(),
      firstSeen: Type.String({ format: 'date-time' }),
      lastSeen: Type.String({ format: 'date-time' }),
      samples: Type.Array(Type.Object({ ts: Type.String({ format: 'date-time' }), params: Type.Array(Type.String()) })),
    }),
  ),
});

export const FleetQuery = Type.Object({ from: Type.Optional(TimeParam), to: Type.Optional(TimeParam) });
export type FleetQueryT = Static<typeof FleetQuery>;

export const FleetResponse = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  nodes: Type.Integer(),
  online: Type.Integer(),
  offlineNodes: Type.Array(Type.String()),
  uplinkBytes: Type.Number(),
  rawBytes: Type.Number({ description: 'What the same data would have taken raw (json-file logs + docker stats).' }),
  /** rawBytes / uplinkBytes: how much the summaries save on the uplink. */
  savingsRatio: Type.Union([Type.Number(), Type.Null()]),
  drops: Type.Array(Type.Object({ stage: Type.String(), reason: Type.String(), count: Type.Number() })),
  quotaDrops: Type.Array(Type.Object({ node: Type.String(), ...quotaDropFields }), {
    description:
      'Nodes this ingester dropped messages or dead letters of for their quotas since it started, most first (at most 100).',
  }),
});

/** The error answers of an authenticated route (the Error schema above); 429 is the per-token rate limit. */
export const ROUTE_ERRORS = {
  400: { $ref: 'Error#' },
  401: { $ref: 'Error#' },
  403: { $ref: 'Error#' },
  404: { $ref: 'Error#' },
  429: { $ref: 'Error#' },
  503: { $ref: 'Error#' },
} as const;
