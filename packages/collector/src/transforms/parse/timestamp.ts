/** ISO 8601 / RFC 3339 at the start of a line, with `T` or a space, optional fraction and zone. */
const ISO_PREFIX = /^\[?(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?\]?/;

export interface TextTimestamp {
  ts: number;
  /** Characters the timestamp took, including brackets. */
  length: number;
}

/** A timestamp as read, and whether it named its zone itself (`Z`, an offset). */
interface Stamp extends TextTimestamp {
  zoned: boolean;
}

/**
 * Zone-less timestamps are read as UTC: containers on gateways normally log in UTC. A zone written
 * after the time, apart (PostgreSQL's `%m`: `2026-12-07 06:31:00.123 CET`, or an offset where the
 * zone has no abbreviation), is read and taken into the length (zoneAfter); `near` (the receive
 * time) tells apart the zones one abbreviation names.
 */
export function timestampAtStart(text: string, near?: number): TextTimestamp | undefined {
  const c = text.charCodeAt(0);
  if (!(c === 91 || (c >= 48 && c <= 57))) return undefined;
  const t = plainIso(text) ?? regexIso(text);
  return t === undefined || t.zoned ? t : zoneAfter(text, t, near);
}

function regexIso(text: string): Stamp | undefined {
  const m = ISO_PREFIX.exec(text);
  if (m === null) return undefined;
  const ts = isoToMs(m[1] as string, m[2] as string, m[3], m[4]);
  return Number.isFinite(ts) ? { ts, length: m[0].length, zoned: m[4] !== undefined } : undefined;
}

/**
 * Zone abbreviations as tzdata writes them (what PostgreSQL's `%m`/`%t` and `date` print), minutes
 * east of UTC; where zones share an abbreviation, each of them (the one read is the nearest the
 * receive time). An abbreviation not here leaves the time read as UTC and the word in the message.
 */
const ZONE_OFFSETS = new Map<string, readonly number[]>([
  ['UTC', [0]],
  ['UT', [0]],
  ['GMT', [0]],
  ['WET', [0]],
  ['WEST', [60]],
  ['BST', [60]],
  ['CET', [60]],
  ['CEST', [120]],
  ['MET', [60]],
  ['MEST', [120]],
  ['WAT', [60]],
  ['EET', [120]],
  ['EEST', [180]],
  ['CAT', [120]],
  ['SAST', [120]],
  ['IST', [330, 60, 120]],
  ['IDT', [180]],
  ['MSK', [180]],
  ['EAT', [180]],
  ['PKT', [300]],
  ['WIB', [420]],
  ['WITA', [480]],
  ['WIT', [540]],
  ['HKT', [480]],
  ['CST', [-360, 480, -300]],
  ['CDT', [-300, -240]],
  ['JST', [540]],
  ['KST', [540]],
  ['AWST', [480]],
  ['ACST', [570]],
  ['ACDT', [630]],
  ['AEST', [600]],
  ['AEDT', [660]],
  ['ChST', [600]],
  ['NZST', [720]],
  ['NZDT', [780]],
  ['SST', [-660]],
  ['HST', [-600]],
  ['HDT', [-540]],
  ['AKST', [-540]],
  ['AKDT', [-480]],
  ['PST', [-480, 480]],
  ['PDT', [-420]],
  ['MST', [-420]],
  ['MDT', [-360]],
  ['EST', [-300]],
  ['EDT', [-240]],
  ['AST', [-240, 180]],
  ['ADT', [-180]],
  ['NST', [-210]],
  ['NDT', [-150]],
]);

/**
 * `t` with the zone written after it, apart, when there is one: a known abbreviation, or an offset
 * (`+05:30`, `+0530`; `-03` alone only where it brings the time nearer `near` than UTC does, since
 * a number may follow a time too). The zone must end its field (a blank, `]` or the end).
 */
function zoneAfter(text: string, t: Stamp, near: number | undefined): TextTimestamp {
  const at = t.length;
  if (text.charCodeAt(at) !== 32 || text.charCodeAt(at - 1) === 93) return t;
  const c = text.charCodeAt(at + 1);
  let end = at + 2;
  let offsets: readonly number[];
  let hoursOnly = false;
  if (c === 43 || c === 45) {
    const hh = digits(text, at + 2, 2);
    if (hh < 0 || hh > 14) return t;
    end = at + 4;
    const colon = text.charCodeAt(end) === 58 ? 1 : 0;
    const mm = digits(text, end + colon, 2);
    if (mm > 59) return t;
    if (mm >= 0) end += colon + 2;
    else hoursOnly = true;
    offsets = [(c === 43 ? 1 : -1) * (hh * 60 + Math.max(mm, 0))];
  } else {
    if (!(c >= 65 && c <= 90)) return t;
    while (end < at + 6 && isLetter(text.charCodeAt(end))) end++;
    const known = ZONE_OFFSETS.get(text.slice(at + 1, end));
    if (known === undefined) return t;
    offsets = known;
  }
  const next = text.charCodeAt(end);
  if (!(Number.isNaN(next) || next === 32 || next === 9 || next === 93)) return t;
  const off = (m: number) => Math.abs(t.ts - m * 60_000 - (near ?? t.ts));
  const offset = offsets.reduce((best, m) => (off(m) < off(best) ? m : best));
  if (hoursOnly && near !== undefined && off(offset) >= Math.abs(t.ts - near)) return t;
  return { ts: t.ts - offset * 60_000, length: end };
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
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
function plainIso(s: string): Stamp | undefined {
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
  const zoneAt = i;
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
  const zoned = i > zoneAt;
  if (s.charCodeAt(i) === 93) i++;
  return { ts: Date.UTC(year, month - 1, day, hour, minute, second, ms) - offset, length: i, zoned };
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
export function timestampFromValue(value: unknown, near?: number): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value))
    return value < 1e11 ? Math.round(value * 1000) : Math.round(value);
  if (typeof value === 'string') {
    const t = timestampAtStart(value, near);
    if (t !== undefined) return t.ts;
    const n = Number(value);
    if (value !== '' && Number.isFinite(n)) return timestampFromValue(n);
  }
  return undefined;
}
