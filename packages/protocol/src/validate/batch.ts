import type { Batch, ContainerEventKind, MetricSummary, SketchData, SpanSummary } from '../types/batch.js';
import { LOG_LEVEL_NAMES, SPAN_KIND_NAMES, SPAN_STATUS_NAMES } from '../types/batch.js';
import { NODE_ID_PATTERN } from '../topics/topics.js';
import { limits } from '../limits.js';
import {
  eachItem,
  finite,
  guard,
  int,
  invalid,
  list,
  pattern,
  record,
  stringMap,
  text,
  timestamp,
  uint,
} from './checks.js';
import type { Result } from '../errors/errors.js';

export const CONTAINER_EVENT_KINDS: readonly ContainerEventKind[] = [
  'start',
  'stop',
  'die',
  'oom',
  'restart',
  'health_status',
  'create',
  'destroy',
  'gap',
];
export const LOG_STREAMS = ['stdout', 'stderr'] as const;
/** A W3C trace id as OTLP JSON writes it: 16 bytes in lowercase hex. */
export const TRACE_ID_PATTERN = /^[0-9a-f]{32}$/;
export const MAX_LOG_LEVEL = LOG_LEVEL_NAMES.length - 1;
/** Sketch bin indexes stay in this range (1% accuracy reaches about ±36k over the whole float64 range). */
export const SKETCH_INDEX_LIMIT = 2 ** 31;

/**
 * Checks that a value is a Batch the protocol can carry: every field present, of its type, in
 * range (integers safe, timestamps in [0, maxTimestampMs], floats finite, enums known, strings
 * well-formed and within maxStringBytes, lists and maps within their limits). Both the encoder
 * (refusing to send what the other side would reject) and the decoder use it.
 */
export function validateBatch(value: unknown): Result<Batch> {
  return guard(() => checkBatch(value));
}

function checkBatch(value: unknown): Batch {
  const b = record(value, '', 'batch');
  pattern(b.node, '', 'node', NODE_ID_PATTERN);
  uint(b.epoch, '', 'epoch');
  uint(b.seq, '', 'seq');
  timestamp(b.sentAt, '', 'sentAt');
  const ws = timestamp(b.windowStart, '', 'windowStart');
  const we = timestamp(b.windowEnd, '', 'windowEnd');
  if (we < ws) invalid('windowEnd', 'before windowStart');
  const max = limits.maxItemsPerSection;

  eachItem(b.containers, '', 'containers', max, (v, p) => {
    const c = record(v, '', p);
    text(c.id, p, 'id');
    text(c.name, p, 'name');
    text(c.image, p, 'image');
    text(c.state, p, 'state');
    stringMap(c.labels, p, 'labels');
  });

  eachItem(b.metrics, '', 'metrics', max, checkMetricSummary);

  eachItem(b.logs, '', 'logs', max, (v, p) => {
    const l = record(v, '', p);
    timestamp(l.ts, p, 'ts');
    text(l.container, p, 'container');
    int(l.level, p, 'level', 0, MAX_LOG_LEVEL);
    text(l.message, p, 'message');
    if (!(LOG_STREAMS as readonly unknown[]).includes(l.stream))
      invalid(`${p}.stream`, `expected ${LOG_STREAMS.join(' or ')}`);
    int(l.repeat, p, 'repeat', 1, Number.MAX_SAFE_INTEGER);
    text(l.templateId, p, 'templateId');
    stringMap(l.fields, p, 'fields');
  });

  eachItem(b.templates, '', 'templates', max, (v, p) => {
    const t = record(v, '', p);
    text(t.container, p, 'container');
    text(t.id, p, 'id');
    text(t.template, p, 'template');
    int(t.level, p, 'level', 0, MAX_LOG_LEVEL);
    uint(t.count, p, 'count');
    timestamp(t.firstSeen, p, 'firstSeen');
    timestamp(t.lastSeen, p, 'lastSeen');
    eachItem(t.samples, p, 'samples', limits.maxTemplateSamples, (sv, sp) => {
      const s = record(sv, '', sp);
      timestamp(s.ts, sp, 'ts');
      eachItem(s.params, sp, 'params', limits.maxTemplateParams, (pv, pp) => text(pv, '', pp));
    });
    if (t.merged !== undefined) eachItem(t.merged, p, 'merged', limits.maxTemplateMerged, (mv, mp) => text(mv, '', mp));
  });

  eachItem(b.events, '', 'events', max, (v, p) => {
    const e = record(v, '', p);
    timestamp(e.ts, p, 'ts');
    text(e.container, p, 'container');
    if (!(CONTAINER_EVENT_KINDS as readonly unknown[]).includes(e.kind))
      invalid(`${p}.kind`, `expected one of ${CONTAINER_EVENT_KINDS.join(', ')}`);
    stringMap(e.attrs, p, 'attrs');
  });

  eachItem(b.drops, '', 'drops', max, (v, p) => {
    const d = record(v, '', p);
    text(d.stage, p, 'stage');
    text(d.reason, p, 'reason');
    text(d.container, p, 'container');
    uint(d.count, p, 'count');
  });

  if (b.spans !== undefined) eachItem(b.spans, '', 'spans', max, checkSpanSummary);

  const h = record(b.health, '', 'health');
  uint(h.uplinkBytes, 'health', 'uplinkBytes');
  uint(h.rawBytes, 'health', 'rawBytes');
  uint(h.queueBatches, 'health', 'queueBatches');
  uint(h.queueBytes, 'health', 'queueBytes');
  int(h.budgetLeftBytes, 'health', 'budgetLeftBytes', -1, Number.MAX_SAFE_INTEGER - 1);
  uint(h.degradeLevel, 'health', 'degradeLevel');
  if (finite(h.cpuPct, 'health', 'cpuPct') < 0) invalid('health.cpuPct', 'negative');
  uint(h.rssBytes, 'health', 'rssBytes');
  text(h.agentVersion, 'health', 'agentVersion');
  return value as Batch;
}

/**
 * Checks one metric summary as checkBatch does, for a sender that leaves out a summary the codec
 * would refuse instead of losing the batch that holds it (every series of the window).
 */
export function validateMetricSummary(value: unknown): Result<MetricSummary> {
  return guard(() => checkMetricSummary(value, 'metric'));
}

function checkMetricSummary(v: unknown, p: string): MetricSummary {
  const m = record(v, '', p);
  text(m.container, p, 'container');
  text(m.metric, p, 'metric');
  const s = timestamp(m.start, p, 'start');
  const e = timestamp(m.end, p, 'end');
  if (e < s) invalid(`${p}.end`, 'before start');
  uint(m.count, p, 'count');
  finite(m.sum, p, 'sum');
  finite(m.min, p, 'min');
  finite(m.max, p, 'max');
  finite(m.last, p, 'last');
  uint(m.gaps, p, 'gaps');
  uint(m.resets, p, 'resets');
  if (m.sketch !== undefined) checkSketch(m.sketch, `${p}.sketch`);
  if (m.attrs !== undefined) stringMap(m.attrs, p, 'attrs');
  return v as MetricSummary;
}

/** Checks one span summary as checkBatch does (validateMetricSummary's reason). */
export function validateSpanSummary(value: unknown): Result<SpanSummary> {
  return guard(() => checkSpanSummary(value, 'span'));
}

function checkSpanSummary(v: unknown, p: string): SpanSummary {
  const x = record(v, '', p);
  text(x.container, p, 'container');
  text(x.service, p, 'service');
  text(x.operation, p, 'operation');
  int(x.kind, p, 'kind', 0, SPAN_KIND_NAMES.length - 1);
  int(x.status, p, 'status', 0, SPAN_STATUS_NAMES.length - 1);
  const s = timestamp(x.start, p, 'start');
  const e = timestamp(x.end, p, 'end');
  if (e < s) invalid(`${p}.end`, 'before start');
  uint(x.count, p, 'count');
  finite(x.sum, p, 'sum');
  finite(x.min, p, 'min');
  finite(x.max, p, 'max');
  if (x.sketch !== undefined) checkSketch(x.sketch, `${p}.sketch`);
  eachItem(x.errors, p, 'errors', limits.maxSpanErrors, (ev, ep) => text(ev, '', ep));
  eachItem(x.traceIds, p, 'traceIds', limits.maxSpanExemplars, (tv, tp) => pattern(tv, '', tp, TRACE_ID_PATTERN));
  return v as SpanSummary;
}

export function checkSketch(value: unknown, p: string): SketchData {
  const s = record(value, '', p);
  uint(s.zeros, p, 'zeros');
  let bins = 0;
  for (const side of ['positive', 'negative'] as const) {
    const sp = `${p}.${side}`;
    const store = record(s[side], p, side);
    const offset = int(store.offset, sp, 'offset', -SKETCH_INDEX_LIMIT, SKETCH_INDEX_LIMIT);
    const counts = list(store.counts, sp, 'counts', limits.maxSketchBins);
    if (offset + counts.length > SKETCH_INDEX_LIMIT) invalid(`${sp}.offset`, 'bins run past the index limit');
    // Sketches hold thousands of bins: check them without building a path per bin.
    for (let k = 0; k < counts.length; k++) {
      const c = counts[k];
      if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 0) uint(c, sp, `counts[${k}]`);
    }
    bins += counts.length;
  }
  if (bins > limits.maxSketchBins) invalid(p, `${bins} bins above the limit ${limits.maxSketchBins}`);
  return value as SketchData;
}
