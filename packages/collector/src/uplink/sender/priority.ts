/**
 * The outbox priority classes, most valuable first. The batcher splits a batch into one record per
 * class, so the outbox can evict raw info samples long before it touches a metric summary.
 */
export const PriorityClass = {
  /** Metric summaries, container events, node health. */
  summaries: 0,
  /** Warning and error log lines. */
  warnError: 1,
  /** Log templates with counts. */
  templates: 2,
  /** Info samples and raw info lines. */
  infoSamples: 3,
} as const;
export type PriorityClassValue = (typeof PriorityClass)[keyof typeof PriorityClass];

/** The DropCount reason for evictions of each class (stage `outbox.evict`). */
export const PRIORITY_CLASS_REASONS = ['summaries', 'warn_error', 'templates', 'info_samples'] as const;
export const EVICT_STAGE = 'outbox.evict';
