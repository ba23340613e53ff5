/**
 * A column of numbers (a metric's sum, min, max or last across the batch), laid out for zstd:
 *
 *   n tags (ByteWriter.num tags: even = integer, 3 + uint e = decimal m / 10^e, 1 = float64, 5/7 = equal
 *   to ref a/b, 9 + uint e = integer m x 10^e, for values rounded to a few significant digits,
 *   which would otherwise spend their varint on the zeros)
 *   W byte (only when there are mantissas), then the mantissas (zigzag) as W byte planes
 *   (plane 0 = lowest byte of every value, ...)
 *   the float64 values as 8 byte planes
 *
 * Tags of a column are nearly all alike and compress to almost nothing; byte planes put the
 * slowly varying high bytes of similar values together, where zstd finds them, instead of
 * interleaving them with the noisy low digits (the "shuffle" filter of Blosc and Parquet's
 * byte-stream-split). Lossless for every finite number, -0 included.
 */
import { ByteWriter, INT_SHORT_MAX, MAX_DECIMAL_EXPONENT, POW10, zigzag } from './byte-writer.js';
import type { ByteReader } from './byte-reader.js';

/** 10^15 is the largest power of ten below INT_SHORT_MAX (2^50), the range of integers written. */
const MAX_SCALE_EXPONENT = 15;
/** Summaries rounded to a few significant digits (the collector's default) end in zeros; one is enough to pay off there. */
const MIN_SCALE_EXPONENT = 1;

export type NumRefs = (i: number) => readonly [number, number];

export function writeNumColumn(w: ByteWriter, values: readonly number[], refs?: NumRefs): void {
  const mantissas: number[] = [];
  const floats: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (refs) {
      const [a, b] = refs(i);
      if (Object.is(v, a)) {
        w.byte(5);
        continue;
      }
      if (Object.is(v, b)) {
        w.byte(7);
        continue;
      }
    }
    if (Number.isInteger(v) && Math.abs(v) <= INT_SHORT_MAX && !Object.is(v, -0)) {
      const e = trailingZeros(v);
      if (e >= MIN_SCALE_EXPONENT) {
        w.byte(9);
        w.uint(e);
        mantissas.push(zigzag(v / (POW10[e] as number)));
      } else w.uint(zigzag(v) * 2);
      continue;
    }
    const d = decimalOf(v);
    if (d) {
      w.byte(3);
      w.uint(d.e);
      mantissas.push(zigzag(d.m));
    } else {
      w.byte(1);
      floats.push(v);
    }
  }
  let max = 0;
  for (const z of mantissas) if (z > max) max = z;
  let width = 0;
  while (max >= 1) {
    width++;
    max = Math.floor(max / 256);
  }
  if (mantissas.length > 0) w.byte(width);
  for (let k = 0, div = 1; k < width; k++, div *= 256) for (const z of mantissas) w.byte(Math.floor(z / div) % 256);
  if (floats.length > 0) {
    const raw = new Uint8Array(new Float64Array(floats).buffer);
    for (let k = 0; k < 8; k++) for (let i = 0; i < floats.length; i++) w.byte(raw[i * 8 + k] as number);
  }
}

/** How many times 10 divides a non-zero integer (0 for 0). */
function trailingZeros(v: number): number {
  let e = 0;
  while (v !== 0 && v % (POW10[e + 1] as number) === 0) e++;
  return e;
}

/** v = m / 10^e with at most 15 significant digits, when that is exactly v; otherwise undefined. */
function decimalOf(v: number): { m: number; e: number } | undefined {
  const a = Math.abs(v);
  if (!(a >= 1e-6 && a < 1e15)) return undefined;
  // Numbers in this range print as plain decimals (no exponent); at most 15 digits fit m exactly.
  const s = String(a);
  const dot = s.indexOf('.');
  if (dot <= 0 || s.length > 16) return undefined;
  const e = s.length - dot - 1;
  const m = Number(s.slice(0, dot) + s.slice(dot + 1));
  if (e > MAX_DECIMAL_EXPONENT || m / (POW10[e] as number) !== a) return undefined;
  return { m: v < 0 ? -m : m, e };
}

export function readNumColumn(r: ByteReader, n: number, refs?: NumRefs): number[] {
  const tags: number[] = [];
  const exps: number[] = [];
  let decimals = 0;
  let floats = 0;
  for (let i = 0; i < n; i++) {
    r.index = i;
    const tag = r.uint();
    tags.push(tag);
    if (tag === 3) {
      const e = r.uint();
      if (e > MAX_DECIMAL_EXPONENT)
        r.fail('ET_ERR_INVALID_FIELD', `decimal exponent ${e} above ${MAX_DECIMAL_EXPONENT}`);
      exps.push(e);
      decimals++;
    } else if (tag === 9) {
      const e = r.uint();
      if (e < 1 || e > MAX_SCALE_EXPONENT)
        r.fail('ET_ERR_INVALID_FIELD', `integer scale 10^${e} outside 10^1..10^${MAX_SCALE_EXPONENT}`);
      exps.push(-e);
      decimals++;
    } else {
      if (tag === 1) floats++;
      else if (tag % 2 !== 0 && !(refs && (tag === 5 || tag === 7)))
        r.fail('ET_ERR_INVALID_FIELD', `bad number tag ${tag}`);
      exps.push(0);
    }
  }
  const width = decimals > 0 ? r.byte() : 0;
  if (width > 7) r.fail('ET_ERR_INVALID_FIELD', `mantissa width ${width} above 7 bytes`);
  if (width * decimals + 8 * floats > r.remaining)
    r.fail('ET_ERR_TRUNCATED', `number planes need ${width * decimals + 8 * floats} bytes, ${r.remaining} left`);
  const mantissas = new Array<number>(decimals).fill(0);
  for (let k = 0, mul = 1; k < width; k++, mul *= 256)
    for (let j = 0; j < decimals; j++) mantissas[j] = (mantissas[j] as number) + r.byte() * mul;
  const raw = new Uint8Array(floats * 8);
  for (let k = 0; k < 8 && floats > 0; k++) for (let j = 0; j < floats; j++) raw[j * 8 + k] = r.byte();
  const fl = new Float64Array(raw.buffer);
  const out: number[] = [];
  let di = 0;
  let fi = 0;
  for (let i = 0; i < n; i++) {
    r.index = i;
    const tag = tags[i] as number;
    if (tag === 3 || tag === 9) {
      const z = mantissas[di++] as number;
      if (z > Number.MAX_SAFE_INTEGER) r.fail('ET_ERR_INVALID_FIELD', 'mantissa above 2^53');
      const m = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      const e = exps[i] as number;
      const v = e >= 0 ? m / (POW10[e] as number) : m * (POW10[-e] as number);
      if (e < 0 && Math.abs(v) > INT_SHORT_MAX) r.fail('ET_ERR_INVALID_FIELD', `scaled integer above 2^50`);
      out.push(v);
    } else if (tag === 1) {
      const v = fl[fi++] as number;
      if (!Number.isFinite(v)) r.fail('ET_ERR_INVALID_FIELD', 'not a finite number');
      out.push(v);
    } else if (tag === 5 || tag === 7) {
      out.push((refs as NumRefs)(i)[tag === 5 ? 0 : 1]);
    } else {
      const z = tag / 2;
      out.push(z % 2 === 0 ? z / 2 : -(z + 1) / 2);
    }
  }
  return out;
}
