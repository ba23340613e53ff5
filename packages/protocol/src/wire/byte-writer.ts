/**
 * Append-only byte buffer with the primitive encodings of the wire format: LEB128 varints
 * (unsigned, and zigzag for signed), float64 little-endian, and length-prefixed UTF-8.
 * Integers are exact up to Number.MAX_SAFE_INTEGER; callers validate ranges before writing.
 */
/** Zigzag: 0, -1, 1, -2, ... to 0, 1, 2, 3, ..., so small negative numbers stay small. */
export function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

export class ByteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  /** Unsigned LEB128; bitwise fast path below 2^31, arithmetic above (bitwise ops are 32-bit). */
  uint(v: number): void {
    this.ensure(8);
    const b = this.buf;
    let p = this.pos;
    if (v < 0x80000000) {
      while (v >= 0x80) {
        b[p++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
    } else {
      while (v >= 0x80) {
        b[p++] = (v % 128) | 0x80;
        v = Math.floor(v / 128);
      }
    }
    b[p++] = v;
    this.pos = p;
  }

  /** Zigzag, so small negative numbers stay small. */
  sint(v: number): void {
    this.uint(zigzag(v));
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /**
   * A number, in the shortest of three lossless forms, chosen by a leading tag:
   * - tag even: an integer up to 2^50 in magnitude, tag = zigzag(v) * 2;
   * - tag 3: a decimal m / 10^e (e uint <= 22, m sint), when v's shortest decimal form has at most
   *   15 significant digits (sensor readings, rounded percentages): m and 10^e are exact doubles,
   *   so the division is correctly rounded and gives back exactly v;
   * - tag 1: the float64 itself (8 bytes), for everything else including -0.
   * Decimal beats float64 by far after zstd: 33 bits of real digits do not fill 52 noisy mantissa bits.
   */
  num(v: number): void {
    if (Number.isInteger(v)) {
      if (Math.abs(v) <= INT_SHORT_MAX && !Object.is(v, -0)) {
        this.uint(zigzag(v) * 2);
        return;
      }
    } else {
      const a = Math.abs(v);
      if (a >= 1e-6 && a < 1e15) {
        const s = String(a);
        const dot = s.indexOf('.');
        // Numbers in this range print as plain decimals (no exponent); at most 15 digits fit m.
        if (dot > 0 && s.length <= 16) {
          const e = s.length - dot - 1;
          const m = Number(s.slice(0, dot) + s.slice(dot + 1));
          if (e <= MAX_DECIMAL_EXPONENT && m / (POW10[e] as number) === a) {
            this.byte(3);
            this.uint(e);
            this.sint(v < 0 ? -m : m);
            return;
          }
        }
      }
    }
    this.byte(1);
    this.f64(v);
  }

  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  str(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; reserve that, then write the real length.
    const max = s.length * 3;
    this.ensure(max + 5);
    if (s.length < 128 && isAscii(s)) {
      this.buf[this.pos++] = s.length;
      for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.uint(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
  }

  /** A copy of the bytes written so far. */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /** A view of the bytes written so far, valid until the next write. */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export const INT_SHORT_MAX = 2 ** 50;
/** 10^e is exactly representable as a double up to e = 22. */
export const MAX_DECIMAL_EXPONENT = 22;
export const POW10: readonly number[] = Array.from({ length: MAX_DECIMAL_EXPONENT + 1 }, (_, e) => 10 ** e);

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
