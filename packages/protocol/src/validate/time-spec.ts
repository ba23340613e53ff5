/**
 * A time as the API and the CLI take it for log pulls: epoch ms, ISO-8601, or a duration back from
 * now (`90s`, `15m`, `2h`, `1d`). Here so the CLI refuses what the API would, before asking it.
 */
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Epoch ms, or undefined when `v` is none of the three forms. */
export function parseTimeSpec(v: number | string, now: number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  const d = DURATION.exec(v.trim());
  const ms = d ? now - Number(d[1]) * (UNIT_MS[d[2] as string] as number) : /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  return Number.isFinite(ms) ? ms : undefined;
}

export const TIME_SPEC_HINT = 'epoch ms, ISO-8601, or a duration such as 2h';
