/** Turns optional from/to/step query values into a bounded range. Pure. */
import { limits } from '@edge-telemetry/protocol';
import { IngesterError } from '../errors.js';

export interface RangeBounds {
  defaultSpanMs: number;
  maxSpanMs: number;
}

export function parseTime(v: number | string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const ms = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms))
    throw new IngesterError('ET_ERR_BAD_REQUEST', `${name}: not a time (epoch ms or ISO-8601): ${String(v)}`);
  return protocolTime(ms, name, v);
}

/**
 * `ms` when it lies within the protocol's times, else a 400: beyond them ClickHouse's DateTime64
 * overflows (a storage error for what is a bad request) and a node refuses the command.
 */
export function protocolTime(ms: number, name: string, raw: unknown): number {
  if (ms < 0 || ms > limits.maxTimestampMs)
    throw new IngesterError(
      'ET_ERR_BAD_REQUEST',
      `${name}: ${String(raw)} is outside 1970..${new Date(limits.maxTimestampMs).getUTCFullYear()}`,
    );
  return ms;
}

export function timeRange(
  from: number | string | undefined,
  to: number | string | undefined,
  now: number,
  b: RangeBounds,
): { from: number; to: number } {
  const t = parseTime(to, 'to') ?? now;
  const f = parseTime(from, 'from') ?? t - b.defaultSpanMs;
  if (f >= t)
    throw new IngesterError(
      'ET_ERR_BAD_REQUEST',
      `from (${new Date(f).toISOString()}) must be before to (${new Date(t).toISOString()})`,
    );
  if (t - f > b.maxSpanMs)
    throw new IngesterError(
      'ET_ERR_RANGE_TOO_LARGE',
      `range is ${Math.round((t - f) / 3_600_000)} h; at most ${b.maxSpanMs / 3_600_000} h per request`,
    );
  return { from: f, to: t };
}

/** Step in seconds: the requested one, raised so that a series has at most `maxPoints` points. */
export function chooseStep(spanMs: number, requested: number | undefined, maxPoints: number): number {
  const floor = Math.ceil(spanMs / 1000 / maxPoints);
  const wanted = requested ?? Math.max(60, Math.ceil(spanMs / 1000 / 300));
  return Math.max(wanted, floor, 1);
}
