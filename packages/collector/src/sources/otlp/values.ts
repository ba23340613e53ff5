/**
 * Reading OTLP values whichever way they were decoded: protobufjs messages (64-bit integers as
 * Long, ids as bytes, unset fields null) or OTLP/JSON objects (64-bit integers as strings or
 * numbers, ids as hex, unset fields absent). Pure.
 */
import { MAX_JSON_NESTING, NESTED_TOO_DEEP } from '../../transforms/parse/json-text.js';

/** A 64-bit integer or double as decoded: number, decimal string (JSON), or protobufjs Long. */
export type NumLike = number | string | { toNumber(): number } | null | undefined;

export interface AnyValue {
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: NumLike;
  doubleValue?: NumLike;
  arrayValue?: { values?: AnyValue[] | null } | null;
  kvlistValue?: { values?: KeyValue[] | null } | null;
  bytesValue?: Uint8Array | number[] | string | null;
  /** protobufjs' oneof getter: which member is set. */
  value?: string;
}

export interface KeyValue {
  key?: string | null;
  value?: AnyValue | null;
}

export interface Resource {
  attributes?: KeyValue[] | null;
}

/** A number from any decoded form; NaN when absent or not a number. */
export function num(v: NumLike): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return v === '' ? NaN : Number(v);
  if (v !== null && v !== undefined && typeof v.toNumber === 'function') return v.toNumber();
  return NaN;
}

/** Nanoseconds since the epoch to ms (0 when unset). */
export function nanosToMs(v: NumLike): number {
  const n = num(v);
  return Number.isFinite(n) ? n / 1e6 : 0;
}

/** A trace or span id as lowercase hex ('' when unset). */
export function idHex(v: Uint8Array | number[] | string | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v.toLowerCase();
  // An unset bytes field decodes as protobufjs' shared empty array.
  if (Array.isArray(v)) return Buffer.from(v).toString('hex');
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
}

/**
 * Nanoseconds from `start` to `end` exactly (a time since the epoch in ns is beyond a double's 2^53,
 * so the difference is taken before converting); NaN when either is absent.
 */
export function nanosBetween(start: NumLike, end: NumLike): number {
  if (isLong(start) && isLong(end)) return end.subtract(start).toNumber();
  if (typeof start === 'string' && typeof end === 'string' && /^\d+$/.test(start) && /^\d+$/.test(end))
    return Number(BigInt(end) - BigInt(start));
  return num(end) - num(start);
}

interface LongLike {
  toNumber(): number;
  subtract(other: LongLike): LongLike;
}
const isLong = (v: NumLike): v is LongLike & { toNumber(): number } =>
  v !== null && typeof v === 'object' && typeof (v as Partial<LongLike>).subtract === 'function';

/**
 * Levels of arrays and maps rendered inside one value; a deeper value is shown as NESTED_TOO_DEEP.
 * Telemetry nests a few levels; the bound keeps the walk off the stack limit whatever a client sends.
 */
export const MAX_NESTING = MAX_JSON_NESTING;

/** A value as plain JSON data: scalars as the strings valueString gives, arrays and maps nested. */
type Plain = string | Plain[] | { [key: string]: Plain };

/** An attribute value as the string a series or log field holds (arrays and maps as JSON). */
export function valueString(v: AnyValue | null | undefined): string {
  const p = plain(v, 0);
  return typeof p === 'string' ? p : JSON.stringify(p);
}

/**
 * The whole value is encoded once, at the top. Encoding each level into a string that the level
 * above encoded again doubled the escapes at every level: one 5 KB log record nested 50 deep asked
 * for a string of 2^50 characters, and an SDK logging an object 22 deep took the collector to 2 GB.
 */
function plain(v: AnyValue | null | undefined, depth: number): Plain {
  if (v === null || v === undefined) return '';
  if (typeof v.stringValue === 'string' && (v.value === undefined || v.value === 'stringValue')) return v.stringValue;
  if (v.value === 'boolValue' || (v.value === undefined && typeof v.boolValue === 'boolean'))
    return String(v.boolValue);
  if (v.value === 'intValue' || (v.value === undefined && v.intValue !== undefined && v.intValue !== null))
    return String(num(v.intValue));
  if (v.value === 'doubleValue' || (v.value === undefined && v.doubleValue !== undefined && v.doubleValue !== null))
    return String(num(v.doubleValue));
  if (v.arrayValue) {
    if (depth >= MAX_NESTING) return NESTED_TOO_DEEP;
    return (v.arrayValue.values ?? []).map((x) => plain(x, depth + 1));
  }
  if (v.kvlistValue) {
    if (depth >= MAX_NESTING) return NESTED_TOO_DEEP;
    // No prototype: a key "__proto__" is data like any other.
    const out: { [key: string]: Plain } = Object.create(null) as { [key: string]: Plain };
    for (const kv of v.kvlistValue.values ?? [])
      if (typeof kv.key === 'string' && kv.key !== '') out[kv.key] = plain(kv.value, depth + 1);
    return out;
  }
  if (v.bytesValue)
    return typeof v.bytesValue === 'string' ? v.bytesValue : Buffer.from(v.bytesValue).toString('base64');
  return '';
}

/** Key/value list as a plain record (later duplicates win, as the specification leaves it to us). */
export function attributes(kvs: readonly KeyValue[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!kvs) return out;
  for (const kv of kvs) if (typeof kv.key === 'string' && kv.key !== '') out[kv.key] = valueString(kv.value);
  return out;
}
