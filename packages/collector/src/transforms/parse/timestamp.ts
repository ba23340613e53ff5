/** ISO 8601 / RFC 3339 at the start of a line, with `T` or a space, optional fraction and zone. */
const ISO_PREFIX = /^\[?(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?\]?/;

export interface TextTimestamp {
  ts: number;
  /** Characters the timestamp took, including brackets. */
  length: number;
}

/** Zone-less timestamps are read as UTC: containers on gateways normally log in UTC. */
export function timestampAtStart(text: string): TextTimestamp | undefined {
  const c = text.charCodeAt(0);
  if (!(c === 91 || (c >= 48 && c <= 57))) return undefined;
  const m = ISO_PREFIX.exec(text);
  if (m === null) return undefined;
  const ts = isoToMs(m[1] as string, m[2] as string, m[3], m[4]);
  return Number.isFinite(ts) ? { ts, length: m[0].length } : undefined;
}

function isoToMs(date: string, time: string, frac: string | undefined, zone: string | undefined): number {
  const ms = frac === undefined ? '' : '.' + frac.slice(0, 3).padEnd(3, '0');
  let z = zone ?? 'Z';
  if (z.length === 5) z = `${z.slice(0, 3)}:${z.slice(3)}`;
  return Date.parse(`${date}T${time}${ms}${z}`);
}

/** A timestamp field value from JSON or logfmt: RFC 3339 text, or epoch seconds / milliseconds. */
export function timestampFromValue(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value))
    return value < 1e11 ? Math.round(value * 1000) : Math.round(value);
  if (typeof value === 'string') {
    const t = timestampAtStart(value);
    if (t !== undefined) return t.ts;
    const n = Number(value);
    if (value !== '' && Number.isFinite(n)) return timestampFromValue(n);
  }
  return undefined;
}
