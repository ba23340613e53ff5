/**
 * Splits one window's output into batches by value, so that the outbox can evict the least
 * valuable data first without re-encoding anything (architecture.md: raw info samples go before
 * templates, before warnings and errors, before metric summaries):
 *
 *   class 0  metric summaries, events, containers, drops, health  (always sent: it is the heartbeat)
 *   class 1  WARN and above, verbatim
 *   class 2  templates with their counts, without samples
 *   class 3  info and below verbatim, and the templates' samples (as template rows with count 0,
 *            so that the ingester can add counts across classes without double counting)
 *
 * Within each batch the rows are put in the order that compresses best (compression-order.ts).
 */
import { LogLevel, type Batch, type LogTemplate } from '@edge-telemetry/protocol';
import type { PriorityClassValue } from '../uplink/sender/priority.js';
import { byContainerThenFirstSeen, byContainerThenTime, byMetricThenContainer } from './compression-order.js';

export type BatchDraft = Omit<Batch, 'epoch' | 'seq'>;

export function assembleBatches(window: BatchDraft): Array<{ priorityClass: PriorityClassValue; draft: BatchDraft }> {
  const empty = { containers: [], metrics: [], logs: [], templates: [], events: [], drops: [] };
  const base = {
    node: window.node,
    sentAt: window.sentAt,
    windowStart: window.windowStart,
    windowEnd: window.windowEnd,
    health: window.health,
  };
  const logs = [...window.logs].sort(byContainerThenTime);
  const severe = logs.filter((l) => l.level >= LogLevel.warn);
  const mild = logs.filter((l) => l.level < LogLevel.warn);
  const templates = [...window.templates].sort(byContainerThenFirstSeen);
  const counts: LogTemplate[] = templates.map((t) => ({ ...t, samples: [] }));
  const samples: LogTemplate[] = templates.filter((t) => t.samples.length > 0).map((t) => ({ ...t, count: 0 }));
  const metrics = [...window.metrics].sort(byMetricThenContainer);

  const out: Array<{ priorityClass: PriorityClassValue; draft: BatchDraft }> = [
    {
      priorityClass: 0,
      draft: { ...base, ...empty, containers: window.containers, metrics, events: window.events, drops: window.drops },
    },
  ];
  if (severe.length) out.push({ priorityClass: 1, draft: { ...base, ...empty, logs: severe } });
  if (counts.length) out.push({ priorityClass: 2, draft: { ...base, ...empty, templates: counts } });
  if (mild.length || samples.length)
    out.push({ priorityClass: 3, draft: { ...base, ...empty, logs: mild, templates: samples } });
  return out;
}
