/**
 * The API's reads. Every query is bounded by node, time range and a row limit, and uses the
 * tables' sort keys (node, container, time) first; each statement runs under the read bounds of
 * `reads` (storage/bounded-reads.ts). Rows come back as plain data.
 */
import { LogLevel, levelOfOtelSeverity, otelSeverityNumber, type LogLevelName } from '@edge-telemetry/protocol';
import type { Reads, StatementBounds } from '../storage/bounded-reads.js';
import { TABLES } from '../storage/tables.js';
import { sketchQuantiles } from './quantiles.js';

export interface NodeSummaryRow {
  node: string;
  lastSeen: string | null;
  online: boolean;
  containers: string[];
  uplinkBytes: number;
  rawBytes: number;
  drops: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const DAY_MS = 86_400_000;

export async function listNodes(
  reads: Reads,
  now: number,
  onlineWindowS: number,
  maxNodes = 10_000,
): Promise<NodeSummaryRow[]> {
  const since = now - DAY_MS;
  const seen = await reads.rows<[string, string | number]>(
    `SELECT NodeName, toUnixTimestamp64Milli(max(ReceivedAt)) FROM ${TABLES.ledger} GROUP BY NodeName LIMIT {max:UInt32}`,
    { max: maxNodes },
  );
  const status = await reads.rows<[string, string, string | number]>(
    `SELECT NodeName, argMax(State, ReceivedAt), toUnixTimestamp64Milli(max(ReceivedAt)) FROM ${TABLES.status} GROUP BY NodeName LIMIT {max:UInt32}`,
    { max: maxNodes },
  );
  const containers = await reads.rows<[string, string[]]>(
    `SELECT NodeName, arraySort(groupUniqArray(1000)(ContainerName)) FROM ${TABLES.containers} WHERE SeenAt >= fromUnixTimestamp64Milli({since:Int64}) GROUP BY NodeName`,
    { since },
  );
  const uplink = await reads.rows<[string, string | number, string | number]>(
    `SELECT NodeName, sum(UplinkBytes), sum(RawBytes) FROM ${TABLES.health} WHERE Timestamp >= fromUnixTimestamp64Milli({since:Int64}) GROUP BY NodeName`,
    { since },
  );
  const drops = await reads.rows<[string, string | number]>(
    `SELECT NodeName, sum(Count) FROM ${TABLES.drops} WHERE Timestamp >= fromUnixTimestamp64Milli({since:Int64}) GROUP BY NodeName`,
    { since },
  );
  const byNode = new Map<
    string,
    { seen: number; state?: string; containers: string[]; uplink: number; raw: number; drops: number }
  >();
  const get = (n: string) =>
    byNode.get(n) ?? byNode.set(n, { seen: 0, containers: [], uplink: 0, raw: 0, drops: 0 }).get(n)!;
  for (const [n, t] of seen) get(n).seen = Math.max(get(n).seen, Number(t));
  for (const [n, state, t] of status) {
    const e = get(n);
    e.state = state;
    e.seen = Math.max(e.seen, Number(t));
  }
  for (const [n, list] of containers) get(n).containers = list;
  for (const [n, b, raw] of uplink) Object.assign(get(n), { uplink: Number(b), raw: Number(raw) });
  for (const [n, d] of drops) get(n).drops = Number(d);
  return [...byNode]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([node, e]) => ({
      node,
      lastSeen: e.seen > 0 ? iso(e.seen) : null,
      online: e.state !== 'offline' && e.seen > 0 && now - e.seen <= onlineWindowS * 1000,
      containers: e.containers,
      uplinkBytes: e.uplink,
      rawBytes: e.raw,
      drops: e.drops,
    }));
}

export interface MetricSeriesParams {
  node: string;
  container?: string;
  metric?: string;
  /** The series' `service.name` attribute (applications' series). */
  service?: string;
  from: number;
  to: number;
  stepS: number;
  maxRows: number;
}

export interface MetricPointRow {
  t: string;
  count: number;
  sum: number;
  min: number;
  max: number;
  avg: number | null;
  last: number;
  gaps: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/**
 * Steps of an hour or more read the hourly rollup (whole hours: the edges round to the hour). Its
 * rows are merged in the background only, so every column is aggregated again here with its own
 * function: Last is the value of the greatest (time, value) tuple, the bins are sumMap'ed tuples.
 */
export const ROLLUP_MIN_STEP_S = 3600;

export function seriesSource(stepS: number): 'raw' | 'hourly' {
  return stepS >= ROLLUP_MIN_STEP_S ? 'hourly' : 'raw';
}

const rawQuery = (filters: string) => `SELECT ContainerName, MetricName, Attributes,
    toUnixTimestamp(toStartOfInterval(toDateTime(StartTimeUnix), toIntervalSecond({step:UInt32}))) * 1000 AS t,
    sum(Count), sum(Sum), minIf(Min, Count > 0), maxIf(Max, Count > 0), argMax(Last, TimeUnix), sum(Gaps), sum(SketchZeros),
    sumMap(arrayMap(i -> SketchOffset + i - 1, arrayEnumerate(SketchCounts)), SketchCounts),
    sumMap(arrayMap(i -> SketchNegOffset + i - 1, arrayEnumerate(SketchNegCounts)), SketchNegCounts)
  FROM ${TABLES.metrics}
  WHERE NodeName = {node:String} ${filters}
    AND StartTimeUnix >= fromUnixTimestamp64Milli({from:Int64}) AND StartTimeUnix < fromUnixTimestamp64Milli({to:Int64})
  GROUP BY ContainerName, MetricName, Attributes, t
  ORDER BY ContainerName, MetricName, Attributes, t
  LIMIT {maxRows:UInt32}`;

const hourlyQuery = (filters: string) => `SELECT ContainerName, MetricName, Attributes,
    toUnixTimestamp(toStartOfInterval(StartTimeUnix, toIntervalSecond({step:UInt32}))) * 1000 AS t,
    sum(Count), sum(Sum), min(Min), max(Max), max(Last).2, sum(Gaps), sum(SketchZeros),
    sumMap(SketchPos), sumMap(SketchNeg)
  FROM ${TABLES.metricsHourly}
  WHERE NodeName = {node:String} ${filters}
    AND StartTimeUnix >= toStartOfHour(fromUnixTimestamp64Milli({from:Int64})) AND StartTimeUnix < fromUnixTimestamp64Milli({to:Int64})
  GROUP BY ContainerName, MetricName, Attributes, t
  ORDER BY ContainerName, MetricName, Attributes, t
  LIMIT {maxRows:UInt32}`;

type Bins = [number[], (number | string)[]];

/** Quantiles of bins merged by sumMap. */
function quantilesOf(
  zeros: string | number,
  pos: Bins,
  neg: Bins,
): { p50: number | null; p95: number | null; p99: number | null } {
  const [p50, p95, p99] = sketchQuantiles(
    {
      zeros: Number(zeros),
      posIdx: pos[0],
      posCounts: pos[1].map(Number),
      negIdx: neg[0],
      negCounts: neg[1].map(Number),
    },
    [0.5, 0.95, 0.99],
  );
  return { p50: p50 ?? null, p95: p95 ?? null, p99: p99 ?? null };
}

type SeriesRow = [
  string,
  string,
  Record<string, string>,
  string | number,
  string | number,
  number,
  number,
  number,
  number,
  string | number,
  string | number,
  Bins,
  Bins,
];

export interface MetricSeriesRow {
  container: string;
  metric: string;
  /** Resource and data-point attributes of an application's series; {} for container series. */
  attrs: Record<string, string>;
  points: MetricPointRow[];
}

export async function metricSeries(reads: Reads, p: MetricSeriesParams): Promise<MetricSeriesRow[]> {
  const filters = [
    p.container !== undefined ? 'AND ContainerName = {container:String}' : '',
    p.metric !== undefined ? 'AND MetricName = {metric:String}' : '',
    p.service !== undefined ? "AND Attributes['service.name'] = {service:String}" : '',
  ].join(' ');
  const data = await reads.rows<SeriesRow>(p.stepS >= ROLLUP_MIN_STEP_S ? hourlyQuery(filters) : rawQuery(filters), {
    node: p.node,
    container: p.container,
    metric: p.metric,
    service: p.service,
    from: p.from,
    to: p.to,
    step: p.stepS,
    maxRows: p.maxRows,
  });
  const series = new Map<string, MetricSeriesRow>();
  for (const [container, metric, attrs, t, count, sum, min, max, last, gaps, zeros, pos, neg] of data) {
    const key = JSON.stringify([container, metric, attrs]);
    const s = series.get(key) ?? series.set(key, { container, metric, attrs, points: [] }).get(key)!;
    const n = Number(count);
    s.points.push({
      t: iso(Number(t)),
      count: n,
      sum,
      min,
      max,
      avg: n > 0 ? sum / n : null,
      last,
      gaps: Number(gaps),
      ...quantilesOf(zeros, pos, neg),
    });
  }
  return [...series.values()];
}

export interface SpanSeriesParams {
  node: string;
  container?: string;
  service?: string;
  operation?: string;
  from: number;
  to: number;
  stepS: number;
  maxRows: number;
}

export interface SpanPointRow {
  t: string;
  count: number;
  /** Spans per second over the step. */
  rate: number;
  /** Duration statistics (ms). */
  sum: number;
  min: number | null;
  max: number | null;
  avg: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface SpanSeriesRow {
  container: string;
  service: string;
  operation: string;
  kind: string;
  status: string;
  /** Over the whole range. */
  count: number;
  errors: number;
  /** What the error spans said (distinct, at most SPAN_LIST_MAX). */
  errorNames: string[];
  traceIds: string[];
  p50: number | null;
  p95: number | null;
  p99: number | null;
  points: SpanPointRow[];
}

/** Error descriptions and exemplar trace ids kept per series in an answer. */
export const SPAN_LIST_MAX = 8;

/**
 * Span summaries per (container, service, operation, kind, status), bucketed by step, each with its
 * totals over the range (quantiles from the bins of every step merged), most spans first.
 */
export async function spanSeries(reads: Reads, p: SpanSeriesParams): Promise<SpanSeriesRow[]> {
  const filters = [
    p.container !== undefined ? 'AND ContainerName = {container:String}' : '',
    p.service !== undefined ? 'AND ServiceName = {service:String}' : '',
    p.operation !== undefined ? 'AND SpanName = {operation:String}' : '',
  ].join(' ');
  const data = await reads.rows<
    [
      string,
      string,
      string,
      string,
      string,
      string | number,
      string | number,
      number,
      number,
      number,
      string | number,
      Bins,
      Bins,
      string[],
      string[],
    ]
  >(
    `SELECT ContainerName, ServiceName, SpanName, SpanKind, StatusCode,
        toUnixTimestamp(toStartOfInterval(toDateTime(StartTimeUnix), toIntervalSecond({step:UInt32}))) * 1000 AS t,
        sum(Count), sum(Sum), minIf(Min, Count > 0), maxIf(Max, Count > 0), sum(SketchZeros),
        sumMap(arrayMap(i -> SketchOffset + i - 1, arrayEnumerate(SketchCounts)), SketchCounts),
        sumMap(arrayMap(i -> SketchNegOffset + i - 1, arrayEnumerate(SketchNegCounts)), SketchNegCounts),
        groupUniqArrayArray(${SPAN_LIST_MAX})(Errors), groupUniqArrayArray(${SPAN_LIST_MAX})(TraceIds)
      FROM ${TABLES.spans}
      WHERE NodeName = {node:String} ${filters}
        AND StartTimeUnix >= fromUnixTimestamp64Milli({from:Int64}) AND StartTimeUnix < fromUnixTimestamp64Milli({to:Int64})
      GROUP BY ContainerName, ServiceName, SpanName, SpanKind, StatusCode, t
      ORDER BY ContainerName, ServiceName, SpanName, SpanKind, StatusCode, t
      LIMIT {maxRows:UInt32}`,
    { ...p, step: p.stepS },
  );
  const series = new Map<
    string,
    SpanSeriesRow & { bins: { zeros: number; pos: Map<number, number>; neg: Map<number, number> } }
  >();
  for (const [
    container,
    service,
    operation,
    kind,
    status,
    t,
    count,
    sum,
    min,
    max,
    zeros,
    pos,
    neg,
    errs,
    ids,
  ] of data) {
    const key = JSON.stringify([container, service, operation, kind, status]);
    const s =
      series.get(key) ??
      series
        .set(key, {
          container,
          service,
          operation,
          kind,
          status,
          count: 0,
          errors: 0,
          errorNames: [],
          traceIds: [],
          p50: null,
          p95: null,
          p99: null,
          points: [],
          bins: { zeros: 0, pos: new Map(), neg: new Map() },
        })
        .get(key)!;
    const n = Number(count);
    s.count += n;
    if (status === 'Error') s.errors += n;
    for (const e of errs) if (s.errorNames.length < SPAN_LIST_MAX && !s.errorNames.includes(e)) s.errorNames.push(e);
    for (const id of ids) if (s.traceIds.length < SPAN_LIST_MAX && !s.traceIds.includes(id)) s.traceIds.push(id);
    s.bins.zeros += Number(zeros);
    for (const [side, [idx, counts]] of [[s.bins.pos, pos] as const, [s.bins.neg, neg] as const])
      idx.forEach((i, j) => side.set(i, (side.get(i) ?? 0) + Number(counts[j])));
    s.points.push({
      t: iso(Number(t)),
      count: n,
      rate: n / p.stepS,
      sum,
      min: n > 0 ? min : null,
      max: n > 0 ? max : null,
      avg: n > 0 ? sum / n : null,
      ...quantilesOf(zeros, pos, neg),
    });
  }
  return [...series.values()]
    .map(({ bins, ...s }) => {
      const sorted = (m: Map<number, number>): Bins => {
        const idx = [...m.keys()].sort((a, b) => a - b);
        return [idx, idx.map((i) => m.get(i) as number)];
      };
      return { ...s, ...quantilesOf(bins.zeros, sorted(bins.pos), sorted(bins.neg)) };
    })
    .sort((a, b) => b.count - a.count);
}

export interface LogSearchParams {
  node: string;
  container?: string;
  level?: LogLevelName;
  q?: string;
  from: number;
  to: number;
  limit: number;
}

export interface LogRow {
  ts: string;
  container: string;
  level: string;
  message: string;
  stream: string;
  repeat: number;
  templateId: string;
  fields: Record<string, string>;
}

/**
 * One time slice of a log search (api/log-search.ts cuts the range), newest first, at most
 * `p.limit` rows, under `bounds` when given.
 */
export async function logSlice(reads: Reads, p: LogSearchParams, bounds?: Partial<StatementBounds>): Promise<LogRow[]> {
  const filters = [
    p.container !== undefined ? 'AND ContainerName = {container:String}' : '',
    p.level !== undefined ? 'AND SeverityNumber >= {sev:UInt8}' : '',
    p.q !== undefined ? 'AND positionCaseInsensitiveUTF8(Body, {q:String}) > 0' : '',
  ].join(' ');
  const data = await reads.rows<
    [string | number, string, string, string, string, string | number, string, Record<string, string>]
  >(
    `SELECT toUnixTimestamp64Milli(Timestamp), ContainerName, SeverityText, Body, Stream, Repeat, TemplateId, LogAttributes
      FROM ${TABLES.logs}
      WHERE NodeName = {node:String} ${filters}
        AND Timestamp >= fromUnixTimestamp64Milli({from:Int64}) AND Timestamp < fromUnixTimestamp64Milli({to:Int64})
      ORDER BY Timestamp DESC
      LIMIT {limit:UInt32}`,
    {
      node: p.node,
      container: p.container,
      sev: p.level !== undefined ? otelSeverityNumber(LogLevel[p.level]) : 0,
      q: p.q,
      from: p.from,
      to: p.to,
      limit: p.limit,
    },
    bounds,
  );
  return data.map(([ts, container, level, message, stream, repeat, templateId, fields]) => ({
    ts: iso(Number(ts)),
    container,
    level: level.toLowerCase(),
    message,
    stream,
    repeat: Number(repeat),
    templateId,
    fields,
  }));
}

/**
 * Templates seen in the range, most frequent first, with their latest text and samples. Every
 * row holds its text (the ingester fills in the ones a node left out, template-texts/); a text
 * no ingester ever received is empty, so the latest non-empty one is taken.
 */
export async function topTemplates(
  reads: Reads,
  p: { node: string; container?: string; from: number; to: number; limit: number },
) {
  const merged = await templateMerges(reads, p);
  // With merges to fold, every group of the range is read and folded before the top ones are kept.
  const data = await reads.rows<
    [string, string, string, number, string | number, string | number, string | number, [string | number, string[]][]]
  >(
    `SELECT ContainerName, TemplateId, argMaxIf(Template, LastSeen, Template != ''), max(SeverityNumber), sum(Count) AS n,
        toUnixTimestamp64Milli(min(FirstSeen)), toUnixTimestamp64Milli(max(LastSeen)),
        arrayMap(s -> tuple(toUnixTimestamp64Milli(s.1), s.2), argMax(Samples, LastSeen))
      FROM ${TABLES.templates}
      WHERE NodeName = {node:String} ${p.container !== undefined ? 'AND ContainerName = {container:String}' : ''}
        AND LastSeen >= fromUnixTimestamp64Milli({from:Int64}) AND LastSeen < fromUnixTimestamp64Milli({to:Int64})
      GROUP BY ContainerName, TemplateId
      ORDER BY n DESC
      ${merged.size === 0 ? 'LIMIT {limit:UInt32}' : ''}`,
    p,
  );
  const groups = data.map(([container, templateId, template, sev, count, first, last, samples]) => ({
    container,
    templateId,
    template,
    sev: Number(sev),
    count: Number(count),
    first: Number(first),
    last: Number(last),
    samples,
  }));
  return foldMerged(groups, merged)
    .slice(0, p.limit)
    .map((g) => ({
      container: g.container,
      templateId: g.templateId,
      template: g.template,
      level: levelOfOtelSeverity(g.sev) ?? 'unknown',
      count: g.count,
      firstSeen: iso(g.first),
      lastSeen: iso(g.last),
      samples: g.samples.map(([ts, params]) => ({ ts: iso(Number(ts)), params })),
    }));
}

type TemplateGroup = {
  container: string;
  templateId: string;
  template: string;
  sev: number;
  count: number;
  first: number;
  last: number;
  samples: [string | number, string[]][];
};

/**
 * The node's template merges up to `to` (protocol LogTemplate.merged): `container\0merged id` ->
 * the id it lives on as now, chains (a into b, later b into c) followed to their end.
 */
async function templateMerges(
  reads: Reads,
  p: { node: string; container?: string; to: number },
): Promise<Map<string, string>> {
  const links = await reads.rows<[string, string, string]>(
    `SELECT ContainerName, TemplateId, arrayJoin(Merged) FROM ${TABLES.templates}
      WHERE NodeName = {node:String} ${p.container !== undefined ? 'AND ContainerName = {container:String}' : ''}
        AND notEmpty(Merged) AND LastSeen < fromUnixTimestamp64Milli({to:Int64})`,
    p,
  );
  const into = new Map(links.map(([container, id, from]) => [`${container}\u0000${from}`, id]));
  const live = new Map<string, string>();
  for (const [key, first] of into) {
    const container = key.slice(0, key.indexOf('\u0000'));
    let id = first;
    // A chain is at most as long as the links are many (a cycle, which a node never sends, stops there too).
    for (let step = 0; step < into.size; step++) {
      const next = into.get(`${container}\u0000${id}`);
      if (next === undefined || next === first) break;
      id = next;
    }
    live.set(key, id);
  }
  return live;
}

/** Groups of merged templates folded into the template they merged into, most frequent first. */
function foldMerged(groups: TemplateGroup[], merged: Map<string, string>): TemplateGroup[] {
  if (merged.size === 0) return groups;
  const out = new Map<string, TemplateGroup>();
  // Latest first: the folded group's text and samples are those of its latest rows.
  for (const g of [...groups].sort((a, b) => b.last - a.last)) {
    const id = merged.get(`${g.container}\u0000${g.templateId}`) ?? g.templateId;
    const key = `${g.container}\u0000${id}`;
    const into = out.get(key);
    if (into === undefined) out.set(key, { ...g, templateId: id });
    else {
      into.count += g.count;
      into.sev = Math.max(into.sev, g.sev);
      into.first = Math.min(into.first, g.first);
      if (into.template === '') into.template = g.template;
    }
  }
  return [...out.values()].sort((a, b) => b.count - a.count);
}

/** Fleet overview: node counts, uplink bytes against the raw equivalent, drops by stage and reason. */
export async function fleetOverview(reads: Reads, p: { from: number; to: number; now: number; onlineWindowS: number }) {
  const nodes = await listNodes(reads, p.now, p.onlineWindowS);
  const [bytes] = await reads.rows<[string | number, string | number]>(
    `SELECT sum(UplinkBytes), sum(RawBytes) FROM ${TABLES.health} WHERE Timestamp >= fromUnixTimestamp64Milli({from:Int64}) AND Timestamp < fromUnixTimestamp64Milli({to:Int64})`,
    { from: p.from, to: p.to },
  );
  const drops = await reads.rows<[string, string, string | number]>(
    `SELECT Stage, Reason, sum(Count) AS n FROM ${TABLES.drops}
      WHERE Timestamp >= fromUnixTimestamp64Milli({from:Int64}) AND Timestamp < fromUnixTimestamp64Milli({to:Int64})
      GROUP BY Stage, Reason ORDER BY n DESC LIMIT 100`,
    { from: p.from, to: p.to },
  );
  const uplinkBytes = Number(bytes?.[0] ?? 0);
  const rawBytes = Number(bytes?.[1] ?? 0);
  return {
    from: iso(p.from),
    to: iso(p.to),
    nodes: nodes.length,
    online: nodes.filter((n) => n.online).length,
    offlineNodes: nodes.filter((n) => !n.online).map((n) => n.node),
    uplinkBytes,
    rawBytes,
    savingsRatio: uplinkBytes > 0 ? rawBytes / uplinkBytes : null,
    drops: drops.map(([stage, reason, n]) => ({ stage, reason, count: Number(n) })),
  };
}
