/**
 * Writes the batch body (the layout is in batch-body.ts, which reads it back).
 *
 * One small function per section, on purpose: the body used to be written by one function of ~9 KB
 * of bytecode, whose loops over thousands of rows made V8 compile all of it with TurboFan (on-stack
 * replacement) and again after each deoptimization. Each of those compiles took ~10 MiB of
 * TurboFan's zones and 0.2-0.3 s of a fifth of a core in the collector (issue 15), and a longer
 * backlog met more of them. A section function is compiled alone, so a compile costs what its own
 * loops need. The row-time callbacks are gone for the same reason: each section passes its times
 * as an array, so no helper sees the rows of several sections.
 */
import type {
  Batch,
  ContainerEvent,
  ContainerInfo,
  DropCount,
  NodeHealth,
  LogEvent,
  LogTemplate,
  MetricSummary,
  SpanSummary,
} from '../types/batch.js';
import { ByteWriter } from '../wire/byte-writer.js';
import { writeNumColumn } from '../wire/num-column.js';
import { CONTAINER_EVENT_KINDS } from '../validate/batch.js';
import { writeSketchColumns } from './sketch-columns.js';

/** What metric and span summaries have alike (summaryColumns). */
export type SummaryRow = Pick<MetricSummary, 'start' | 'end' | 'count' | 'sum' | 'min' | 'max'>;

const KIND_CODE = new Map(CONTAINER_EVENT_KINDS.map((k, i) => [k, i]));

/** The body being written and its string table: every repeated string once, referenced by index in order of first use. */
class BodyWriter {
  readonly w = new ByteWriter(64 * 1024);
  readonly strings: string[] = [];
  private readonly index = new Map<string, number>();

  constructor(readonly windowStart: number) {}

  ref(s: string): void {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.index.set(s, i);
      this.strings.push(s);
    }
    this.w.uint(i);
  }

  /** Integers as their greatest common divisor, then each over it: times rounded to the second cost a byte, not three. */
  scaled(values: readonly number[]): void {
    let g = 0;
    for (let i = 0; i < values.length; i++) g = gcd(g, Math.abs(values[i] as number));
    if (g === 0) g = 1;
    this.w.uint(g);
    for (let i = 0; i < values.length; i++) this.w.sint((values[i] as number) / g);
  }

  /** Each row's time as the difference from the previous row's (the first from windowStart). */
  deltas(times: readonly number[]): void {
    const d: number[] = new Array<number>(times.length);
    let prev = this.windowStart;
    for (let i = 0; i < times.length; i++) {
      const t = times[i] as number;
      d[i] = t - prev;
      prev = t;
    }
    this.scaled(d);
  }

  map(m: Record<string, string>): void {
    const keys = Object.keys(m);
    this.w.uint(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      this.ref(k);
      this.ref(m[k] as string);
    }
  }
}

export function writeBatchBody(b: Batch): Buffer {
  const e = new BodyWriter(b.windowStart);
  writeContainers(e, b.containers);
  writeMetrics(e, b.metrics);
  writeLogs(e, b.logs);
  writeTemplates(e, b.templates);
  writeEvents(e, b.events);
  writeDrops(e, b.drops);
  writeSpans(e, b.spans ?? []);
  writeHealth(e, b.health);
  return withHead(b, e);
}

/** The head (node, ids, window) and the string table, then the sections. */
function withHead(b: Batch, e: BodyWriter): Buffer {
  const head = new ByteWriter(1024 + e.strings.length * 16);
  head.str(b.node);
  head.uint(b.epoch);
  head.uint(b.seq);
  head.uint(b.sentAt);
  head.uint(b.windowStart);
  head.uint(b.windowEnd - b.windowStart);
  head.uint(e.strings.length);
  for (let i = 0; i < e.strings.length; i++) head.str(e.strings[i] as string);
  head.bytes(e.w.view());
  return head.view();
}

function writeContainers(e: BodyWriter, cs: readonly ContainerInfo[]): void {
  e.w.uint(cs.length);
  for (const c of cs) e.ref(c.id);
  for (const c of cs) e.ref(c.name);
  for (const c of cs) e.ref(c.image);
  for (const c of cs) e.ref(c.state);
  for (const c of cs) e.map(c.labels);
}

/** The columns metric and span summaries share: start delta, end-start scaled, count, sum, min, max(=min). */
function summaryColumns(e: BodyWriter, rows: readonly SummaryRow[]): void {
  e.deltas(rows.map((x) => x.start));
  e.scaled(rows.map((x) => x.end - x.start));
  for (const x of rows) e.w.uint(x.count);
  writeNumColumn(
    e.w,
    rows.map((x) => x.sum),
  );
  writeNumColumn(
    e.w,
    rows.map((x) => x.min),
  );
  writeNumColumn(
    e.w,
    rows.map((x) => x.max),
    (i) => [(rows[i] as SummaryRow).min, (rows[i] as SummaryRow).min],
  );
}

function writeMetrics(e: BodyWriter, ms: readonly MetricSummary[]): void {
  const w = e.w;
  w.uint(ms.length);
  for (const m of ms) e.ref(m.container);
  for (const m of ms) e.ref(m.metric);
  summaryColumns(e, ms);
  writeNumColumn(
    w,
    ms.map((m) => m.last),
    (i) => [(ms[i] as MetricSummary).min, (ms[i] as MetricSummary).max],
  );
  for (const m of ms) w.uint(m.gaps);
  for (const m of ms) w.uint(m.resets);
  for (const m of ms) w.byte(m.sketch ? 1 : 0);
  writeSketchColumns(w, ms);
  // One byte for a section of container series, which have no attributes.
  const withAttrs = ms.some((m) => m.attrs !== undefined && Object.keys(m.attrs).length > 0);
  w.byte(withAttrs ? 1 : 0);
  if (withAttrs) for (const m of ms) e.map(m.attrs ?? {});
}

function writeLogs(e: BodyWriter, ls: readonly LogEvent[]): void {
  const w = e.w;
  w.uint(ls.length);
  e.deltas(ls.map((l) => l.ts));
  for (const l of ls) e.ref(l.container);
  for (const l of ls) w.byte(l.level);
  for (const l of ls) w.byte(l.stream === 'stdout' ? 0 : 1);
  for (const l of ls) w.uint(l.repeat);
  for (const l of ls) e.ref(l.templateId);
  for (const l of ls) w.str(l.message);
  for (const l of ls) e.map(l.fields);
}

function writeTemplates(e: BodyWriter, ts: readonly LogTemplate[]): void {
  const w = e.w;
  w.uint(ts.length);
  for (const t of ts) e.ref(t.container);
  for (const t of ts) e.ref(t.id);
  for (const t of ts) e.ref(t.template);
  for (const t of ts) w.byte(t.level);
  for (const t of ts) w.uint(t.count);
  e.deltas(ts.map((t) => t.firstSeen));
  e.scaled(ts.map((t) => t.lastSeen - t.firstSeen));
  for (const t of ts) w.uint(t.samples.length);
  e.scaled(ts.flatMap((t) => t.samples.map((s) => s.ts - t.firstSeen)));
  for (const t of ts) {
    for (const s of t.samples) {
      w.uint(s.params.length);
      for (const p of s.params) w.str(p);
    }
  }
  for (const t of ts) {
    w.uint(t.merged?.length ?? 0);
    for (const id of t.merged ?? []) e.ref(id);
  }
}

function writeEvents(e: BodyWriter, es: readonly ContainerEvent[]): void {
  e.w.uint(es.length);
  e.deltas(es.map((x) => x.ts));
  for (const x of es) e.ref(x.container);
  for (const x of es) e.w.byte(KIND_CODE.get(x.kind) ?? 0);
  for (const x of es) e.map(x.attrs);
}

function writeDrops(e: BodyWriter, ds: readonly DropCount[]): void {
  e.w.uint(ds.length);
  for (const d of ds) e.ref(d.stage);
  for (const d of ds) e.ref(d.reason);
  for (const d of ds) e.ref(d.container);
  for (const d of ds) e.w.uint(d.count);
}

function writeSpans(e: BodyWriter, ss: readonly SpanSummary[]): void {
  const w = e.w;
  w.uint(ss.length);
  if (ss.length === 0) return;
  for (const x of ss) e.ref(x.container);
  for (const x of ss) e.ref(x.service);
  for (const x of ss) e.ref(x.operation);
  for (const x of ss) w.byte(x.kind);
  for (const x of ss) w.byte(x.status);
  summaryColumns(e, ss);
  for (const x of ss) w.byte(x.sketch ? 1 : 0);
  writeSketchColumns(w, ss);
  for (const x of ss) {
    w.uint(x.errors.length);
    for (const id of x.errors) e.ref(id);
  }
  for (const x of ss) {
    w.uint(x.traceIds.length);
    for (const id of x.traceIds) w.bytes(Buffer.from(id, 'hex'));
  }
}

function writeHealth(e: BodyWriter, h: NodeHealth): void {
  const w = e.w;
  w.uint(h.uplinkBytes);
  w.uint(h.rawBytes);
  w.uint(h.queueBatches);
  w.uint(h.queueBytes);
  w.uint(h.budgetLeftBytes + 1);
  w.uint(h.degradeLevel);
  w.num(h.cpuPct);
  w.uint(h.rssBytes);
  e.ref(h.agentVersion);
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
