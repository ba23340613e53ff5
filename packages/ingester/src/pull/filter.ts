/** Request values to a PullFilter. Pure. */
import { parseTimeSpec, TIME_SPEC_HINT } from '@edge-telemetry/protocol';
import { IngesterError } from '../errors.js';
import { protocolTime } from '../api/time-range.js';

/** Epoch ms, ISO-8601, or a duration back from now (`90s`, `15m`, `2h`, `1d`). */
export function parsePullTime(v: number | string, name: string, now: number): number {
  const ms = parseTimeSpec(v, now);
  if (ms === undefined) throw new IngesterError('ET_ERR_BAD_REQUEST', `${name}: not a time (${TIME_SPEC_HINT}): ${v}`);
  return Math.round(protocolTime(ms, name, v));
}
