/**
 * A log search as short statements: the range is read newest first in time slices (as Loki splits
 * a query by interval and stops at its limit), each slice one bounded statement that takes its
 * turn with the writer and the other tokens (storage/read-scheduler.ts). A body search over days
 * of a busy node was one statement of seconds, and every insert of the embedded engine waited for
 * it. The slice's span adapts to what the last one cost: doubled after one that took under half of
 * `sliceMs`, halved after one over it; a slice stopped by its bound (twice `sliceMs` at most, or the
 * bytes bound) is read again in halves. The search stops at `limit` rows (one more is read to say the
 * answer was cut), when its time `searchMs` is spent, or when its caller went away; then it says
 * how far back it searched, and a second request with `to` = that time goes on from there.
 */
import { IngesterError } from '../errors.js';
import type { Reads } from '../storage/bounded-reads.js';
import { logSlice, type LogRow, type LogSearchParams } from './queries.js';

/** The first slice: the API's default range (15 min) is one statement when it is cheap. */
const FIRST_SLICE_MS = 15 * 60_000;
/** Timestamps are milliseconds: a slice of one that cannot be read within the bounds ends the search. */
const MIN_SLICE_MS = 1;

export interface LogSearchBounds {
  sliceMs: number;
  searchMs: number;
  /** What one statement may take at most (reads.statementMs): a slice's own bound is below it. */
  statementMs: number;
}

/** What the log searches answered since start (in /metrics): the API's, not the read statements'. */
export interface LogSearchCounters {
  /** Answers cut short by reads.searchMs, a slice that could not be read within the bounds, or the caller gone. */
  partial: number;
}

export interface LogSearchResult {
  logs: LogRow[];
  /** `limit` cut the answer: older rows match too. */
  truncated: boolean;
  /** The range was not searched down to `from` (time spent, a slice over its bounds, or the caller left). */
  partial: boolean;
  /** Rows older than this were not searched; `from` when the whole range was. */
  searchedFrom: number;
}

export async function searchLogs(
  reads: Reads,
  p: LogSearchParams,
  b: LogSearchBounds,
  gone: () => boolean = () => false,
): Promise<LogSearchResult> {
  const started = performance.now();
  const found: LogRow[] = [];
  let end = p.to;
  let span = FIRST_SLICE_MS;
  let stopped = false;
  // Time is up only once a slice was read: asking again from searchedFrom always gets on.
  while (end > p.from && found.length <= p.limit && !stopped) {
    const from = Math.max(p.from, end - span);
    const t0 = performance.now();
    try {
      const rows = await logSlice(
        reads,
        { ...p, from, to: end, limit: p.limit + 1 - found.length },
        // A millisecond's slice, the last resort, keeps the bounds of any statement (`reads`'):
        // twice sliceMs is a target, and a machine short of CPU for a moment must not turn it into a refusal.
        end - from <= MIN_SLICE_MS ? undefined : { ms: Math.min(2 * b.sliceMs, b.statementMs) },
      );
      found.push(...rows);
      end = from;
      const took = performance.now() - t0;
      if (took < b.sliceMs / 2) span *= 2;
      else if (took > b.sliceMs) span = Math.max(MIN_SLICE_MS, Math.floor(span / 2));
    } catch (err) {
      if (!(err instanceof IngesterError && err.code === 'ET_ERR_READ_LIMIT')) throw err;
      // Stopped by its bound: the same end again, half the span. A millisecond is as small as a
      // slice gets: answer what was found, or, with nothing read yet, say so (asking again would not help).
      if (end - from <= MIN_SLICE_MS) {
        if (end === p.to) throw err;
        stopped = true;
      }
      span = Math.max(MIN_SLICE_MS, Math.floor((end - from) / 2));
    }
    stopped ||= (end < p.to && performance.now() - started >= b.searchMs) || gone();
  }
  const truncated = found.length > p.limit;
  return { logs: found.slice(0, p.limit), truncated, partial: end > p.from && !truncated, searchedFrom: end };
}
