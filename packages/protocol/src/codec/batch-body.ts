/**
 * The batch body, the bytes inside the zstd frame. Column-oriented: each section is a count
 * followed by one column per field, so similar values sit together and zstd finds them.
 *
 *   node str · epoch uint · seq uint · sentAt uint · windowStart uint · windowEnd-windowStart uint
 *   strings: n uint, n x str                     (every repeated string, sent once; referenced by index)
 *   containers: n | id ref | name ref | image ref | state ref | labels map
 *   metrics: n | container ref | metric ref | start delta | end-start scaled | count uint | sum num*
 *            | min num* | max num*(=min) | last num*(=min, =max) | gaps uint | resets uint
 *            | sketch flag byte | sketch columns (sketch-columns.ts) | attrs flag byte (1: a map column follows)
 *   logs: n | ts delta | container ref | level byte | stream byte | repeat uint | templateId ref
 *         | message str | fields map
 *   templates: n | container ref | id ref | template ref | level byte | count uint | firstSeen delta
 *              | lastSeen-firstSeen scaled | samples per template uint | their ts-firstSeen scaled
 *              | params of each sample (p uint, p x str) | merged ids of each template (m uint, m x ref)
 *   events: n | ts delta | container ref | kind byte | attrs map
 *   drops: n | stage ref | reason ref | container ref | count uint
 *   spans: n | (when n > 0) container ref | service ref | operation ref | kind byte | status byte
 *          | start delta | end-start scaled | count uint | sum num* | min num* | max num*(=min)
 *          | sketch flag byte | sketch columns | errors (k uint, k x ref) | traceIds (k uint, k x 16 bytes)
 *   health: uplinkBytes rawBytes queueBatches queueBytes uint · budgetLeftBytes+1 uint · degradeLevel uint
 *           · cpuPct num · rssBytes uint · agentVersion ref
 *
 * uint = LEB128; sint = zigzag LEB128; num = integer, decimal or float64 (ByteWriter.num);
 * num* = a number column (wire/num-column.ts): n tags, then mantissas and float64s as byte planes;
 * (=min) and (=max) are one-byte tags for "equal to this row's min / max"; str = uint length +
 * UTF-8; ref = uint index into strings; map = k uint, k x (key ref, value ref); scaled = the
 * column's greatest common divisor uint, then each value over it sint; delta = a scaled column of
 * differences from the previous row's value, the first row's from windowStart.
 */
import type {
  Batch,
  ContainerEvent,
  ContainerInfo,
  DropCount,
  LogEvent,
  LogTemplate,
  MetricSummary,
  SpanKindValue,
  SpanStatusValue,
  SpanSummary,
} from '../types/batch.js';
import type { LogLevelValue } from '../types/batch.js';
import { ByteReader } from '../wire/byte-reader.js';
import { readNumColumn } from '../wire/num-column.js';
import { limits } from '../limits.js';
import { CONTAINER_EVENT_KINDS } from '../validate/batch.js';
import { readSketchColumns } from './sketch-columns.js';
import type { SummaryRow } from './batch-body-writer.js';

/**
 * Reads a body written by writeBatchBody (batch-body-writer.ts) from untrusted bytes. Checks the wire structure (bounds,
 * counts against remaining bytes and limits, string refs, enum codes, UTF-8, no trailing bytes);
 * the semantic checks (ranges, patterns) are validateBatch's, run by the caller. Throws ProtocolError.
 */
export function readBatchBody(bytes: Uint8Array): Batch {
  const r: ByteReader = new ByteReader(bytes);
  const maxStr = limits.maxStringBytes;
  const maxItems = limits.maxItemsPerSection;

  r.field = 'node';
  const node = r.str(maxStr);
  r.field = 'epoch';
  const epoch = r.uint();
  r.field = 'seq';
  const seq = r.uint();
  r.field = 'sentAt';
  const sentAt = r.uint();
  r.field = 'windowStart';
  const windowStart = r.uint();
  r.field = 'windowEnd';
  const windowEnd = windowStart + r.uint();

  r.field = 'strings[]';
  const nStrings = r.count(Number.MAX_SAFE_INTEGER, 1);
  const strings: string[] = [];
  for (let i = 0; i < nStrings; i++) {
    r.index = i;
    strings.push(r.str(maxStr));
  }
  const ref = (): string => {
    const i = r.uint();
    const s = strings[i];
    if (s === undefined) r.fail('ET_ERR_INVALID_FIELD', `string ref ${i} outside the table of ${strings.length}`);
    return s;
  };
  const map = (): Record<string, string> => {
    const k = r.count(limits.maxMapEntries, 2);
    const m: Record<string, string> = {};
    for (let j = 0; j < k; j++) {
      const key = ref();
      const value = ref();
      if (Object.prototype.hasOwnProperty.call(m, key))
        r.fail('ET_ERR_INVALID_FIELD', `duplicate key ${JSON.stringify(key)}`);
      // A plain assignment of '__proto__' would set the prototype instead of a key; every other key
      // is assigned: defineProperty costs about three times as much (issue 21: the ingester decodes
      // a map per log line, container and attributed metric, 3 % of its CPU under a burst).
      if (key === '__proto__')
        Object.defineProperty(m, key, { value, enumerable: true, writable: true, configurable: true });
      else m[key] = value;
    }
    return m;
  };
  /** Reads one column of n values into rows[i][key]. */
  const column = <T>(rows: T[], field: string, read: () => unknown, key: keyof T): void => {
    r.field = field;
    for (let i = 0; i < rows.length; i++) {
      r.index = i;
      (rows[i] as Record<keyof T, unknown>)[key] = read();
    }
  };
  // Integer columns are written over their common factor (scaled() in writeBatchBody).
  const factor = (): number => {
    const g = r.uint();
    if (g === 0) r.fail('ET_ERR_INVALID_FIELD', 'common factor 0');
    return g;
  };
  const scaledSint = (g: number): number => {
    const v = r.sint() * g;
    if (!Number.isSafeInteger(v)) r.fail('ET_ERR_INVALID_FIELD', 'value above 2^53');
    return v;
  };
  const sampleTimes = (n: number): number[] => {
    if (n > r.remaining) r.fail('ET_ERR_TRUNCATED', `${n} sample times, ${r.remaining} bytes left`);
    const g = factor();
    return Array.from({ length: n }, () => scaledSint(g));
  };
  const deltas = <T>(rows: T[], field: string, key: keyof T): void => {
    r.field = field;
    const g = factor();
    let prev = windowStart;
    for (let i = 0; i < rows.length; i++) {
      r.index = i;
      prev += scaledSint(g);
      (rows[i] as Record<keyof T, unknown>)[key] = prev;
    }
  };
  // Each row takes at least one byte per column, so n is checked against the bytes left.
  const rows = <T>(field: string, minBytes: number, make: () => T): T[] => {
    r.field = field;
    const n = r.count(maxItems, minBytes);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(make());
    return out;
  };

  const containers = rows<ContainerInfo>('containers', 5, () => ({
    id: '',
    name: '',
    image: '',
    state: '',
    labels: {},
  }));
  column(containers, 'containers[].id', ref, 'id');
  column(containers, 'containers[].name', ref, 'name');
  column(containers, 'containers[].image', ref, 'image');
  column(containers, 'containers[].state', ref, 'state');
  column(containers, 'containers[].labels', map, 'labels');

  const metrics = rows<MetricSummary>('metrics', 12, () => ({
    container: '',
    metric: '',
    start: 0,
    end: 0,
    count: 0,
    sum: 0,
    min: 0,
    max: 0,
    last: 0,
    gaps: 0,
    resets: 0,
  }));
  column(metrics, 'metrics[].container', ref, 'container');
  column(metrics, 'metrics[].metric', ref, 'metric');
  /** Reads what summaryColumns wrote. */
  const summaryColumns = (rows: SummaryRow[], section: string): void => {
    deltas(rows, `${section}[].start`, 'start');
    r.field = `${section}[].end`;
    const g = factor();
    for (let i = 0; i < rows.length; i++) {
      r.index = i;
      const x = rows[i] as SummaryRow;
      x.end = x.start + scaledSint(g);
    }
    column(rows, `${section}[].count`, () => r.uint(), 'count');
    const num = (key: 'sum' | 'min' | 'max', ref?: (i: number) => readonly [number, number]) => {
      r.field = `${section}[].${key}`;
      readNumColumn(r, rows.length, ref).forEach((v, i) => ((rows[i] as SummaryRow)[key] = v));
    };
    num('sum');
    num('min');
    num('max', (i) => [(rows[i] as SummaryRow).min, (rows[i] as SummaryRow).min]);
  };
  summaryColumns(metrics, 'metrics');
  const uint = (): number => r.uint();
  r.field = 'metrics[].last';
  readNumColumn(r, metrics.length, (i) => [
    (metrics[i] as MetricSummary).min,
    (metrics[i] as MetricSummary).max,
  ]).forEach((v, i) => ((metrics[i] as MetricSummary).last = v));
  column(metrics, 'metrics[].gaps', uint, 'gaps');
  column(metrics, 'metrics[].resets', uint, 'resets');
  r.field = 'metrics[].sketch';
  const hasSketch: boolean[] = [];
  for (let i = 0; i < metrics.length; i++) {
    r.index = i;
    const flag = r.byte();
    if (flag > 1) r.fail('ET_ERR_INVALID_FIELD', `sketch flag ${flag}`);
    hasSketch.push(flag === 1);
  }
  readSketchColumns(r, metrics, hasSketch);
  r.field = 'metrics.attrs';
  const attrsFlag = r.byte();
  if (attrsFlag > 1) r.fail('ET_ERR_INVALID_FIELD', `attrs flag ${attrsFlag}`);
  r.field = 'metrics[].attrs';
  if (attrsFlag === 1)
    for (let i = 0; i < metrics.length; i++) {
      r.index = i;
      const attrs = map();
      if (Object.keys(attrs).length > 0) (metrics[i] as MetricSummary).attrs = attrs;
    }

  const logs = rows<LogEvent>('logs', 8, () => ({
    ts: 0,
    container: '',
    level: 0,
    message: '',
    stream: 'stdout',
    repeat: 1,
    templateId: '',
    fields: {},
  }));
  deltas(logs, 'logs[].ts', 'ts');
  column(logs, 'logs[].container', ref, 'container');
  column(logs, 'logs[].level', () => r.byte() as LogLevelValue, 'level');
  column(logs, 'logs[].stream', () => stream(r), 'stream');
  column(logs, 'logs[].repeat', uint, 'repeat');
  column(logs, 'logs[].templateId', ref, 'templateId');
  column(logs, 'logs[].message', () => r.str(maxStr), 'message');
  column(logs, 'logs[].fields', map, 'fields');

  const templates = rows<LogTemplate>('templates', 8, () => ({
    container: '',
    id: '',
    template: '',
    level: 0,
    count: 0,
    firstSeen: 0,
    lastSeen: 0,
    samples: [],
  }));
  column(templates, 'templates[].container', ref, 'container');
  column(templates, 'templates[].id', ref, 'id');
  column(templates, 'templates[].template', ref, 'template');
  column(templates, 'templates[].level', () => r.byte() as LogLevelValue, 'level');
  column(templates, 'templates[].count', uint, 'count');
  deltas(templates, 'templates[].firstSeen', 'firstSeen');
  r.field = 'templates[].lastSeen';
  const gLast = factor();
  for (let i = 0; i < templates.length; i++) {
    r.index = i;
    const t = templates[i] as LogTemplate;
    t.lastSeen = t.firstSeen + scaledSint(gLast);
  }
  r.field = 'templates[].samples';
  const params = (): string[] => {
    const p = r.count(limits.maxTemplateParams, 1);
    const out: string[] = [];
    for (let q = 0; q < p; q++) out.push(r.str(maxStr));
    return out;
  };
  // Every template's sample count, then all their times as one column, then the params.
  const counts: number[] = [];
  for (let i = 0; i < templates.length; i++) {
    r.index = i;
    counts.push(r.count(limits.maxTemplateSamples, 1));
  }
  const times = sampleTimes(counts.reduce((a, k) => a + k, 0));
  let n = 0;
  templates.forEach((t, i) => {
    r.index = i;
    for (let j = 0; j < (counts[i] as number); j++) {
      const ts = t.firstSeen + (times[n++] as number);
      t.samples.push({ ts, params: params() });
    }
  });
  r.field = 'templates[].merged';
  templates.forEach((t, i) => {
    r.index = i;
    const m = r.count(limits.maxTemplateMerged, 1);
    if (m > 0) t.merged = Array.from({ length: m }, ref);
  });

  const events = rows<ContainerEvent>('events', 4, () => ({ ts: 0, container: '', kind: 'start', attrs: {} }));
  deltas(events, 'events[].ts', 'ts');
  column(events, 'events[].container', ref, 'container');
  column(
    events,
    'events[].kind',
    () => {
      const code = r.byte();
      const kind = CONTAINER_EVENT_KINDS[code];
      if (kind === undefined) r.fail('ET_ERR_INVALID_FIELD', `unknown event kind ${code}`);
      return kind;
    },
    'kind',
  );
  column(events, 'events[].attrs', map, 'attrs');

  const drops = rows<DropCount>('drops', 4, () => ({ stage: '', reason: '', container: '', count: 0 }));
  column(drops, 'drops[].stage', ref, 'stage');
  column(drops, 'drops[].reason', ref, 'reason');
  column(drops, 'drops[].container', ref, 'container');
  column(drops, 'drops[].count', uint, 'count');

  const spans = rows<SpanSummary>('spans', 14, () => ({
    container: '',
    service: '',
    operation: '',
    kind: 0,
    status: 0,
    start: 0,
    end: 0,
    count: 0,
    sum: 0,
    min: 0,
    max: 0,
    errors: [],
    traceIds: [],
  }));
  if (spans.length > 0) readSpans(r, spans, { ref, column, summaryColumns });

  r.field = 'health';
  const health = {
    uplinkBytes: r.uint(),
    rawBytes: r.uint(),
    queueBatches: r.uint(),
    queueBytes: r.uint(),
    budgetLeftBytes: r.uint() - 1,
    degradeLevel: r.uint(),
    cpuPct: r.num(),
    rssBytes: r.uint(),
    agentVersion: ref(),
  };
  if (r.remaining !== 0) {
    r.field = 'body';
    r.fail('ET_ERR_INVALID_FIELD', `${r.remaining} trailing bytes`);
  }
  return {
    node,
    epoch,
    seq,
    sentAt,
    windowStart,
    windowEnd,
    containers,
    metrics,
    logs,
    templates,
    events,
    drops,
    ...(spans.length > 0 ? { spans } : {}),
    health,
  };
}

const TRACE_ID_BYTES = 16;

/** The column readers of readBatchBody that the spans section shares. */
interface Columns {
  ref(): string;
  column<T>(rows: T[], field: string, read: () => unknown, key: keyof T): void;
  summaryColumns(rows: SummaryRow[], section: string): void;
}

function readSpans(r: ByteReader, spans: SpanSummary[], c: Columns): void {
  const byteIn = (max: number) => (): number => {
    const v = r.byte();
    if (v > max) r.fail('ET_ERR_INVALID_FIELD', `code ${v} above ${max}`);
    return v;
  };
  c.column(spans, 'spans[].container', c.ref, 'container');
  c.column(spans, 'spans[].service', c.ref, 'service');
  c.column(spans, 'spans[].operation', c.ref, 'operation');
  c.column(spans, 'spans[].kind', byteIn(5) as () => SpanKindValue, 'kind');
  c.column(spans, 'spans[].status', byteIn(2) as () => SpanStatusValue, 'status');
  c.summaryColumns(spans, 'spans');
  r.field = 'spans[].sketch';
  const flag = byteIn(1);
  const has = spans.map((_, i) => ((r.index = i), flag() === 1));
  readSketchColumns(r, spans, has, 'spans');
  r.field = 'spans[].errors';
  for (let i = 0; i < spans.length; i++) {
    r.index = i;
    const k = r.count(limits.maxSpanErrors, 1);
    for (let j = 0; j < k; j++) (spans[i] as SpanSummary).errors.push(c.ref());
  }
  r.field = 'spans[].traceIds';
  for (let i = 0; i < spans.length; i++) {
    r.index = i;
    const k = r.count(limits.maxSpanExemplars, TRACE_ID_BYTES);
    for (let j = 0; j < k; j++)
      (spans[i] as SpanSummary).traceIds.push(Buffer.from(r.bytes(TRACE_ID_BYTES)).toString('hex'));
  }
}

function stream(r: ByteReader): 'stdout' | 'stderr' {
  const b = r.byte();
  if (b > 1) r.fail('ET_ERR_INVALID_FIELD', `stream code ${b}`);
  return b === 0 ? 'stdout' : 'stderr';
}
