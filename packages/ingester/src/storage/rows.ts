/**
 * Pure transforms from a decoded batch to the rows of each table, as plain values in the column
 * order of tables.ts. Times stay epoch milliseconds (DateTime64(3) reads them in JSON).
 */
import {
  LOG_LEVEL_NAMES,
  SPAN_KIND_NAMES,
  SPAN_STATUS_NAMES,
  otelSeverityNumber,
  type Batch,
  type SketchBins,
  type SketchData,
} from '@edge-telemetry/protocol';
import type { BatchTable } from './tables.js';

export interface BatchMeta {
  /** Ingester clock when the message arrived (ms). */
  receivedAt: number;
  wireBytes: number;
  ingesterId: string;
  /** The node's own times of a batch stored moved (consumer/node-clock.ts): the ledger keeps them. */
  asSent?: Pick<Batch, 'sentAt' | 'windowStart' | 'windowEnd'>;
}

export type TableRows = Record<BatchTable, unknown[][]>;

export interface BatchRows {
  rows: TableRows;
  /** Data rows (the ledger row not counted). */
  rowCount: number;
}

function severityText(level: number): string {
  return (LOG_LEVEL_NAMES[level] ?? 'unknown').toUpperCase();
}

const EMPTY_BINS: SketchBins = { offset: 0, counts: [] };
const NO_ATTRIBUTES: Record<string, string> = {};

/** The sketch columns of a row: zeros, then offset and counts of each store. */
function sketchColumns(s: SketchData | undefined): unknown[] {
  const pos = s?.positive ?? EMPTY_BINS;
  const neg = s?.negative ?? EMPTY_BINS;
  return [s?.zeros ?? 0, pos.offset, pos.counts, neg.offset, neg.counts];
}

/**
 * Attributes are part of a series' identity and the hourly rollup's key, where a map compares in
 * its stored order: sorted by key, whatever order the node sent them in.
 */
function sortedAttributes(a: Record<string, string> | undefined): Record<string, string> {
  if (a === undefined) return NO_ATTRIBUTES;
  const keys = Object.keys(a);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = (keys[i - 1] as string) < (keys[i] as string);
  return sorted ? a : Object.fromEntries(keys.sort().map((k) => [k, a[k] as string]));
}

/** OTel ClickHouse exporter spellings: `Server`, `Error`, ... */
const capitalized = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * The node's inventory (its Docker and cgroup sources), plus a row with the name alone for each
 * other container the batch carries data of (logs, templates, spans, application metrics, events):
 * the fleet's and the node's container lists read this table, and a node with log sources only
 * listed none. '' (the host) and names starting with '_' (the collector's own, `_collector`; Docker
 * and Kubernetes names cannot start so) are not containers.
 */
function containerRows(b: Batch, node: string): unknown[][] {
  const rows: unknown[][] = b.containers.map((c) => [b.windowEnd, node, c.id, c.name, c.image, c.state, c.labels]);
  const seen = new Set(b.containers.map((c) => c.name));
  // Items of one container mostly come one after another: comparing with the last one skips most
  // set lookups on the write path.
  let last = '';
  for (const items of [b.metrics, b.spans ?? [], b.logs, b.templates, b.events])
    for (const { container } of items) {
      if (container === last) continue;
      last = container;
      if (container === '' || container.startsWith('_') || seen.has(container)) continue;
      seen.add(container);
      rows.push([b.windowEnd, node, '', container, '', '', NO_ATTRIBUTES]);
    }
  return rows;
}

export function batchToRows(b: Batch, meta: BatchMeta): BatchRows {
  const node = b.node;
  const metrics = b.metrics.map((m) => [
    node,
    m.container,
    m.metric,
    m.start,
    m.end,
    m.count,
    m.sum,
    m.min,
    m.max,
    m.last,
    m.gaps,
    m.resets,
    ...sketchColumns(m.sketch),
    sortedAttributes(m.attrs),
  ]);
  const spans = (b.spans ?? []).map((x) => [
    node,
    x.container,
    x.service,
    x.operation,
    capitalized(SPAN_KIND_NAMES[x.kind]),
    capitalized(SPAN_STATUS_NAMES[x.status]),
    x.start,
    x.end,
    x.count,
    x.sum,
    x.min,
    x.max,
    ...sketchColumns(x.sketch),
    x.errors,
    x.traceIds,
  ]);
  const logs = b.logs.map((l) => [
    l.ts,
    node,
    l.container,
    severityText(l.level),
    otelSeverityNumber(l.level),
    l.message,
    l.stream,
    l.repeat,
    l.templateId,
    l.fields,
  ]);
  const templates = b.templates.map((t) => [
    node,
    t.container,
    t.id,
    t.template,
    otelSeverityNumber(t.level),
    t.count,
    t.firstSeen,
    t.lastSeen,
    t.samples.map((s) => ({ Timestamp: s.ts, Params: s.params })),
    t.merged ?? [],
  ]);
  const events = b.events.map((e) => [e.ts, node, e.container, e.kind, e.attrs]);
  const containers = containerRows(b, node);
  const h = b.health;
  const health = [
    [
      b.windowEnd,
      meta.receivedAt,
      node,
      h.uplinkBytes,
      h.rawBytes,
      h.queueBatches,
      h.queueBytes,
      h.budgetLeftBytes,
      h.degradeLevel,
      h.cpuPct,
      h.rssBytes,
      h.agentVersion,
    ],
  ];
  const drops = b.drops.map((d) => [b.windowEnd, node, d.stage, d.reason, d.container, d.count]);
  const rowCount =
    metrics.length +
    spans.length +
    logs.length +
    templates.length +
    events.length +
    containers.length +
    health.length +
    drops.length;
  const sent = meta.asSent ?? b;
  const ledger = [
    [
      node,
      b.epoch,
      b.seq,
      meta.receivedAt,
      sent.sentAt,
      meta.receivedAt - sent.sentAt,
      sent.windowStart,
      sent.windowEnd,
      rowCount,
      meta.wireBytes,
      meta.ingesterId,
    ],
  ];
  return { rows: { metrics, spans, logs, templates, events, containers, health, drops, ledger }, rowCount };
}
