/**
 * The Engine API sends 64-bit integers (cgroup v1 `hierarchical_memory_limit` = 2^63-ish, CPU
 * nanosecond counters that pass 2^53 after ~104 CPU-days). JSON.parse would round them silently,
 * so integers of 16+ digits are turned into strings before parsing and read back with BigInt.
 */
export function parseEngineJson(text: string): unknown {
  return JSON.parse(quoteLongIntegers(text));
}

/** Wraps integer literals of 16 or more digits outside JSON strings in quotes (one pass, no regex backtracking). */
export function quoteLongIntegers(text: string): string {
  let out = '';
  let copied = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    const startsNumber = (c >= 0x30 && c <= 0x39) || c === 0x2d;
    if (!startsNumber) continue;
    let j = c === 0x2d ? i + 1 : i;
    while (j < text.length && isDigit(text.charCodeAt(j))) j++;
    const isInteger = j >= text.length || !isNumberContinuation(text.charCodeAt(j));
    if (isInteger && j - i >= 16) {
      out += `${text.slice(copied, i)}"${text.slice(i, j)}"`;
      copied = j;
    }
    i = j - 1;
    if (!isInteger) while (i + 1 < text.length && isNumberContinuation(text.charCodeAt(i + 1))) i++;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isNumberContinuation(c: number): boolean {
  return isDigit(c) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

/** A numeric field as a bigint (exact), from a JSON number or a quoted long integer; undefined if absent. */
export function bigField(v: unknown): bigint | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.trunc(v));
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return undefined;
}

/** A numeric field as a number (a long integer rounds to the nearest double, which is fine for gauges). */
export function numField(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return undefined;
}
