import { LOG_LEVEL_NAMES, type MetricSummary } from '@edge-telemetry/protocol';

/**
 * Log-derived metrics: lines per level of one container over a window, as summaries named
 * `logs.<level>_lines` (e.g. `logs.error_lines`). Levels without lines are left out.
 */
export function levelSummaries(
  container: string,
  counts: ArrayLike<number>,
  start: number,
  end: number,
): MetricSummary[] {
  const out: MetricSummary[] = [];
  for (let l = 0; l < LOG_LEVEL_NAMES.length; l++) {
    const n = counts[l] ?? 0;
    if (n === 0) continue;
    out.push({
      container,
      metric: `logs.${LOG_LEVEL_NAMES[l] as string}_lines`,
      start,
      end,
      count: 1,
      sum: n,
      min: n,
      max: n,
      last: n,
      gaps: 0,
      resets: 0,
    });
  }
  return out;
}
