/**
 * The protobuf wire format, write side only: enough for the OTLP baseline of the uplink economy
 * benchmark. Nested messages are built bottom-up (a child's bytes are finished before the parent
 * writes its length prefix), which costs a copy per level but keeps the writer a plain function
 * of its input.
 */

/** Wire types (protobuf encoding spec): 0 varint, 1 i64, 2 length-delimited, 5 i32. */
export const WireType = { varint: 0, i64: 1, len: 2, i32: 5 } as const;

/** Appends bytes to a growing buffer; one per message being built. */
export class ProtoWriter {
  private buf: Uint8Array;
  private view: DataView;
  private at = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.at;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Unsigned varint of a non-negative safe integer (Number arithmetic: no BigInt on the hot path). */
  varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varint: ${v} is not a non-negative safe integer`);
    this.room(10);
    while (v >= 0x80) {
      this.buf[this.at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.at++] = v;
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  uint64(field: number, v: number): void {
    this.tag(field, WireType.varint);
    this.varint(v);
  }

  bool(field: number, v: boolean): void {
    this.uint64(field, v ? 1 : 0);
  }

  /** int64 of a value that may be negative: two's complement over 64 bits, as protobuf sends it (10 bytes). */
  int64(field: number, v: number): void {
    if (v >= 0) return this.uint64(field, v);
    this.tag(field, WireType.varint);
    let x = BigInt.asUintN(64, BigInt(v));
    this.room(10);
    while (x >= 0x80n) {
      this.buf[this.at++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.at++] = Number(x);
  }

  fixed64(field: number, v: bigint): void {
    this.tag(field, WireType.i64);
    this.room(8);
    this.view.setBigUint64(this.at, v, true);
    this.at += 8;
  }

  double(field: number, v: number): void {
    this.tag(field, WireType.i64);
    this.room(8);
    this.view.setFloat64(this.at, v, true);
    this.at += 8;
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, WireType.len);
    this.varint(b.length);
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  string(field: number, s: string): void {
    this.bytes(field, Buffer.from(s, 'utf8'));
  }

  /** A nested message: `build` writes the child's fields into a fresh writer. */
  message(field: number, build: (w: ProtoWriter) => void): void {
    const child = new ProtoWriter();
    build(child);
    this.bytes(field, child.finish());
  }
}
