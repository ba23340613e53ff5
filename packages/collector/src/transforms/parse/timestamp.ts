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
  const fast = plainIso(text);
  if (fast !== undefined) return fast;
  const m = ISO_PREFIX.exec(text);
  if (m === null) return undefined;
  const ts = isoToMs(m[1] as string, m[2] as string, m[3], m[4]);
  return Number.isFinite(ts) ? { ts, length: m[0].length } : undefined;
}

/**
 * What ISO_PREFIX and isoToMs make of the common form (`2026-03-01T10:00:00.123Z`, a space for
 * the `T`, a zone or none), read digit by digit: this runs for nearly every line (text lines'
 * leading times, JSON and logfmt time fields) and the regular expression's match, the strings it
 * is rebuilt from and Date.parse were a measurable share of the per-line CPU and garbage. Fields
 * out of the ranges every month has (day > 28, a leap second, hour 24), a year before 100
 * (Date.UTC reads it as 19xx) or a bracket go the regular expression's way, so the answer is
 * always the one it gives.
 */
function plainIso(s: string): TextTimestamp | undefined {
  if (s.length < 19 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58) return undefined;
  const sep = s.charCodeAt(10);
  if ((sep !== 84 && sep !== 32) || s.charCodeAt(16) !== 58) return undefined;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > 28) return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  let i = 19;
  let ms = 0;
  const dot = s.charCodeAt(i);
  if ((dot === 46 || dot === 44) && isDigit(s.charCodeAt(i + 1))) {
    // Up to 9 digits belong to the fraction (more end the match there); milliseconds are the first 3.
    let n = 0;
    for (i++; n < 9 && isDigit(s.charCodeAt(i)); i++, n++) if (n < 3) ms += (s.charCodeAt(i) - 48) * 10 ** (2 - n);
  }
  let offset = 0;
  const z = s.charCodeAt(i);
  if (z === 90) i++;
  else if (z === 43 || z === 45) {
    const hh = digits(s, i + 1, 2);
    const colon = s.charCodeAt(i + 3) === 58 ? 1 : 0;
    const mm = digits(s, i + 3 + colon, 2);
    if (hh >= 0 && mm >= 0) {
      if (hh > 23 || mm > 59) return undefined;
      offset = (z === 43 ? 1 : -1) * (hh * 60 + mm) * 60_000;
      i += 5 + colon;
    }
  }
  if (s.charCodeAt(i) === 93) i++;
  return { ts: Date.UTC(year, month - 1, day, hour, minute, second, ms) - offset, length: i };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The number the `n` digits at `at` spell, or -1 when one of them is not a digit. */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return -1;
    v = v * 10 + c - 48;
  }
  return v;
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
