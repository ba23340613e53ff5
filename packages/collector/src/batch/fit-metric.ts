import { validateMetricSummary, type MetricSummary } from '@edge-telemetry/protocol';
import type { DropReport } from './drops.js';

/**
 * The metric summaries a batch can carry. The codec refuses a whole batch for one summary it cannot
 * carry, and the window's first summaries batch holds every series of the node with its heartbeat:
 * one application's OTLP histogram with a bucket count above 2^53 (a valid uint64), an exponential
 * histogram whose buckets lie beyond float64 (sum estimated as Infinity), or two gauge samples near
 * the float64 maximum (their sum overflows) lost every metric of the node for that window, at each
 * export. Such a summary is left out, counted as `metrics.summary`/`not_representable`, and the
 * first field the protocol refused is told to `onRefused` (for the log). Returns `metrics` itself
 * when all fit.
 */
export function representableMetrics(
  metrics: MetricSummary[],
  drops: DropReport,
  onRefused: (m: MetricSummary, detail: string) => void,
): MetricSummary[] {
  const checks = metrics.map(validateMetricSummary);
  if (checks.every((c) => c.ok)) return metrics;
  return metrics.filter((m, i) => {
    const c = checks[i]!;
    if (c.ok) return true;
    drops.drop({ stage: 'metrics.summary', reason: 'not_representable', container: m.container });
    onRefused(m, c.error.detail);
    return false;
  });
}
