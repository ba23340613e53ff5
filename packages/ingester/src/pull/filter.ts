/** Request values to a PullFilter. Pure. */
import { IngesterError } from '../errors.js';
import { protocolTime } from '../api/time-range.js';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Epoch ms, ISO-8601, or a duration back from now (`90s`, `15m`, `2h`, `1d`). */
export function parsePullTime(v: number | string, name: string, now: number): number {
  const d = typeof v === 'string' ? DURATION.exec(v.trim()) : null;
  const ms =
    typeof v === 'number'
      ? v
      : d
        ? now - Number(d[1]) * (UNIT_MS[d[2] as string] as number)
        : /^\d+$/.test(v)
          ? Number(v)
          : Date.parse(v);
  if (!Number.isFinite(ms))
    throw new IngesterError(
      'ET_ERR_BAD_REQUEST',
      `${name}: not a time (epoch ms, ISO-8601, or a duration such as 2h): ${v}`,
    );
  return Math.round(protocolTime(ms, name, v));
}
