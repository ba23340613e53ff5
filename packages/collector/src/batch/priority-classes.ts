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
 * Within each batch the rows are put in the order that compresses best (row-order.ts).
 */
import { LogLevel, type Batch, type LogTemplate } from '@edge-telemetry/protocol';
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

export function splitByPriority(window: BatchDraft): Array<{ priorityClass: PriorityClassValue; draft: BatchDraft }> {
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
      priorityClass: PriorityClass.summaries,
      draft: {
        ...base,
        ...empty,
        containers: window.containers,
        metrics,
        events: window.events,
        drops: window.drops,
        ...(window.spans?.length ? { spans: [...window.spans].sort(byServiceThenOperation) } : {}),
      },
    },
  ];
  if (severe.length) out.push({ priorityClass: PriorityClass.warnError, draft: { ...base, ...empty, logs: severe } });
  if (counts.length)
    out.push({ priorityClass: PriorityClass.templates, draft: { ...base, ...empty, templates: counts } });
  if (mild.length || samples.length)
    out.push({
      priorityClass: PriorityClass.infoSamples,
      draft: { ...base, ...empty, logs: mild, templates: samples },
    });
  return out;
}
