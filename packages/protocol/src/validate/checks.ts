import { ProtocolError, type Result } from '../errors/errors.js';
import { limits } from '../limits.js';
import { isWellFormed } from './well-formed.js';

/**
 * Field checks shared by the batch and control-message validators. Each takes the parent path and
 * the field name separately so the path string is only built when something is wrong.
 */
export function invalid(path: string, why: string): never {
  throw new ProtocolError('ET_ERR_INVALID_FIELD', `${path}: ${why}`);
}

const join = (base: string, field: string): string =>
  base === '' ? field : field.startsWith('[') ? base + field : `${base}.${field}`;

/** Runs a validator that throws ProtocolError and returns a Result; any other throw is a bug and is reported as invalid input. */
export function guard<T>(fn: () => T): Result<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (err instanceof ProtocolError) return { ok: false, error: err };
    return {
      ok: false,
      error: new ProtocolError('ET_ERR_INVALID_FIELD', err instanceof Error ? err.message : String(err)),
    };
  }
}

export function record(v: unknown, base: string, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) invalid(join(base, field), 'expected an object');
  return v as Record<string, unknown>;
}

export function list(v: unknown, base: string, field: string, max: number): unknown[] {
  if (!Array.isArray(v)) invalid(join(base, field), 'expected an array');
  if (v.length > max) invalid(join(base, field), `${v.length} items above the limit ${max}`);
  return v;
}

/**
 * Checks every item of the list at `field` with `check`, which gets the path '' rather than the
 * item's: a batch holds thousands of log lines, and building `logs[12]` for each of them was a
 * share of the collector's CPU per line (issue 15). The item that fails is checked again with its
 * path, which throws the same error naming it (checks are pure).
 */
export function eachItem(
  v: unknown,
  base: string,
  field: string,
  max: number,
  check: (item: unknown, path: string) => void,
): void {
  const items = list(v, base, field, max);
  for (let i = 0; i < items.length; i++) {
    try {
      check(items[i], '');
    } catch (err) {
      check(items[i], `${join(base, field)}[${i}]`);
      throw err;
    }
  }
}

export function uint(v: unknown, base: string, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    invalid(join(base, field), `expected a non-negative integer, got ${String(v)}`);
  return v;
}

export function int(v: unknown, base: string, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
    invalid(join(base, field), `expected an integer in [${min}, ${max}], got ${String(v)}`);
  return v;
}

export function timestamp(v: unknown, base: string, field: string): number {
  return int(v, base, field, 0, limits.maxTimestampMs);
}

export function finite(v: unknown, base: string, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    invalid(join(base, field), `expected a finite number, got ${String(v)}`);
  return v;
}

/** A string that survives UTF-8 (no lone surrogates) and fits maxStringBytes once encoded. */
export function text(v: unknown, base: string, field: string, maxBytes: number = limits.maxStringBytes): string {
  if (typeof v !== 'string') invalid(join(base, field), 'expected a string');
  if (v.length * 3 > maxBytes && Buffer.byteLength(v, 'utf8') > maxBytes)
    invalid(join(base, field), `string above ${maxBytes} bytes`);
  if (!isWellFormed(v)) invalid(join(base, field), 'string is not well-formed UTF-16 (lone surrogate)');
  return v;
}

export function pattern(v: unknown, base: string, field: string, re: RegExp): string {
  if (typeof v !== 'string' || !re.test(v)) invalid(join(base, field), `expected to match ${String(re)}`);
  return v;
}

export function oneOf<T extends string>(v: unknown, base: string, field: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    invalid(join(base, field), `expected one of ${allowed.join(', ')}`);
  return v as T;
}

export function stringMap(v: unknown, base: string, field: string): Record<string, string> {
  const m = record(v, base, field);
  const keys = Object.keys(m);
  if (keys.length > limits.maxMapEntries)
    invalid(join(base, field), `${keys.length} entries above the limit ${limits.maxMapEntries}`);
  const path = join(base, field);
  for (const k of keys) {
    text(k, path, '<key>');
    text(m[k], path, k);
  }
  return m as Record<string, string>;
}
