import type { Result } from '@edge-telemetry/protocol';
import type { DropReport } from './drops.js';
import { fitText } from './fit-text.js';

/**
 * The summaries (metric or span) a batch can carry. The codec refuses a whole batch for one row it
 * cannot carry, and the window's first summaries batch holds every series and span summary of the
 * node with its heartbeat: one application's OTLP histogram with a bucket count above 2^53 (a
 * valid uint64), an exponential histogram whose buckets lie beyond float64 (sum estimated as
 * Infinity), gauge values near the float64 maximum (their sum overflows) or a span name over 64 KiB
 * (the summarizer now cuts those)
 * lost every metric of the node for that window, at each export. Such a row is left out and
 * counted as `<stage>`/`not_representable`, and the field the protocol refused is told to
 * `onRefused` (for the log). Returns `rows` itself when all fit.
 */
export function representable<T extends { container: string }>(
  rows: T[],
  validate: (row: unknown) => Result<T>,
  stage: 'metrics.summary' | 'spans.summary',
  drops: DropReport,
  onRefused: (row: T, detail: string) => void,
): T[] {
  const checks = rows.map(validate);
  if (checks.every((c) => c.ok)) return rows;
  return rows.filter((row, i) => {
    const c = checks[i]!;
    if (c.ok) return true;
    // The drop rides in the same batch: its container must fit it too.
    drops.drop({ stage, reason: 'not_representable', container: fitText(row.container) });
    onRefused(row, c.error.detail);
    return false;
  });
}
