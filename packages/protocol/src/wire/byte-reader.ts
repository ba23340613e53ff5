import { isUtf8 } from 'node:buffer';
import { ProtocolError } from '../errors/errors.js';
import { MAX_DECIMAL_EXPONENT, POW10 } from './byte-writer.js';

/**
 * Reads what ByteWriter wrote, from untrusted bytes. Every read is bounds-checked; a failure
 * throws a ProtocolError naming the field being read (`field`, with `[]` replaced by `index`),
 * which the decoder's single try/catch turns into a Result. Counts are checked against the
 * bytes left before anything is allocated from them.
 */
export class ByteReader {
  pos: number;
  /** Field path of the column being read, e.g. `metrics[].count`; `[]` takes `index`. */
  field = '';
  index = 0;

  private readonly buf: Buffer;

  constructor(
    bytes: Uint8Array,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  where(): string {
    return this.field.replace('[]', `[${this.index}]`);
  }

  fail(code: 'ET_ERR_TRUNCATED' | 'ET_ERR_INVALID_FIELD', why: string): never {
    throw new ProtocolError(code, `${this.where()}: ${why}`);
  }

  byte(): number {
    if (this.pos >= this.end) this.fail('ET_ERR_TRUNCATED', 'ends early');
    return this.buf[this.pos++] as number;
  }

  /** Unsigned LEB128, at most 8 bytes and at most Number.MAX_SAFE_INTEGER. */
  uint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) this.fail('ET_ERR_TRUNCATED', 'ends inside a varint');
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) this.fail('ET_ERR_INVALID_FIELD', 'varint above 2^53');
        return result;
      }
      mul *= 128;
    }
    return this.fail('ET_ERR_INVALID_FIELD', 'varint longer than 8 bytes');
  }

  sint(): number {
    const z = this.uint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  f64(): number {
    if (this.end - this.pos < 8) this.fail('ET_ERR_TRUNCATED', 'ends inside a float64');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** See ByteWriter.num. Non-finite floats are refused here: no field may carry them. */
  num(): number {
    const tag = this.uint();
    if (tag === 1) {
      const v = this.f64();
      if (!Number.isFinite(v)) this.fail('ET_ERR_INVALID_FIELD', 'not a finite number');
      return v;
    }
    if (tag === 3) {
      const e = this.uint();
      if (e > MAX_DECIMAL_EXPONENT)
        this.fail('ET_ERR_INVALID_FIELD', `decimal exponent ${e} above ${MAX_DECIMAL_EXPONENT}`);
      return this.sint() / (POW10[e] as number);
    }
    if (tag % 2 !== 0) this.fail('ET_ERR_INVALID_FIELD', `bad number tag ${tag}`);
    const z = tag / 2;
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  /**
   * A count of items that each take at least `minBytesPerItem` bytes: refused when above `max`
   * or when the remaining bytes cannot hold that many, so no caller allocates from a lie.
   */
  count(max: number, minBytesPerItem = 1): number {
    const n = this.uint();
    if (n > max) this.fail('ET_ERR_INVALID_FIELD', `count ${n} above the limit ${max}`);
    if (n * minBytesPerItem > this.remaining)
      this.fail('ET_ERR_TRUNCATED', `count ${n} exceeds the remaining ${this.remaining} bytes`);
    return n;
  }

  bytes(n: number): Uint8Array {
    if (n > this.remaining) this.fail('ET_ERR_TRUNCATED', `needs ${n} bytes, ${this.remaining} left`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  str(maxBytes: number): string {
    const n = this.uint();
    if (n > maxBytes) this.fail('ET_ERR_INVALID_FIELD', `string of ${n} bytes above the limit ${maxBytes}`);
    if (n > this.remaining) this.fail('ET_ERR_TRUNCATED', `string of ${n} bytes, ${this.remaining} left`);
    const start = this.pos;
    this.pos += n;
    const b = this.buf;
    let ascii = true;
    for (let i = start; i < start + n; i++) {
      if ((b[i] as number) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return b.toString('latin1', start, start + n);
    // isUtf8 also refuses overlong forms and encoded surrogates, which toString would replace silently.
    if (!isUtf8(b.subarray(start, start + n))) this.fail('ET_ERR_INVALID_FIELD', 'invalid UTF-8');
    return b.toString('utf8', start, start + n);
  }
}
