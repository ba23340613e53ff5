/**
 * An independent protobuf reader for the tests: walks the wire format field by field (no schema),
 * so the encoder's field numbers and wire types are checked against the spec rather than against
 * itself.
 */
export interface Field {
  field: number;
  wire: number;
  /** varint and i64 fields as unsigned 64-bit integers. */
  int?: bigint;
  /** len fields. */
  bytes?: Uint8Array;
}

function varint(b: Uint8Array, at: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    if (at >= b.length) throw new Error('varint runs past the end');
    const byte = b[at++] as number;
    v |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [v, at];
    shift += 7n;
    if (shift > 63n) throw new Error('varint longer than 10 bytes');
  }
}

export function walk(b: Uint8Array): Field[] {
  const out: Field[] = [];
  let at = 0;
  while (at < b.length) {
    const [key, next] = varint(b, at);
    at = next;
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, n] = varint(b, at);
      out.push({ field, wire, int: v });
      at = n;
    } else if (wire === 1) {
      if (at + 8 > b.length) throw new Error('i64 runs past the end');
      out.push({ field, wire, int: new DataView(b.buffer, b.byteOffset + at, 8).getBigUint64(0, true) });
      at += 8;
    } else if (wire === 2) {
      const [len, n] = varint(b, at);
      const end = n + Number(len);
      if (end > b.length) throw new Error('len field runs past the end');
      out.push({ field, wire, bytes: b.subarray(n, end) });
      at = end;
    } else if (wire === 5) {
      at += 4;
      out.push({ field, wire });
    } else throw new Error(`unknown wire type ${wire}`);
  }
  return out;
}

/** Every occurrence of a field; throws when one has another wire type than expected. */
export function all(fields: Field[], field: number, wire: number): Field[] {
  const found = fields.filter((f) => f.field === field);
  for (const f of found) if (f.wire !== wire) throw new Error(`field ${field}: wire type ${f.wire}, expected ${wire}`);
  return found;
}

export function one(fields: Field[], field: number, wire: number): Field {
  const found = all(fields, field, wire);
  if (found.length !== 1) throw new Error(`field ${field}: ${found.length} occurrences, expected 1`);
  return found[0] as Field;
}

export const sub = (fields: Field[], field: number): Field[] => walk(one(fields, field, 2).bytes as Uint8Array);
export const subs = (fields: Field[], field: number): Field[][] =>
  all(fields, field, 2).map((f) => walk(f.bytes as Uint8Array));
export const str = (f: Field): string => Buffer.from(f.bytes as Uint8Array).toString('utf8');
export const dbl = (f: Field): number => {
  const v = new DataView(new ArrayBuffer(8));
  v.setBigUint64(0, f.int as bigint, true);
  return v.getFloat64(0, true);
};

/** KeyValue list (key = 1, value = 2 AnyValue) to a plain record: string_value = 1, int_value = 3, double_value = 4, array_value = 5. */
export function attrs(kvs: Field[][]): Record<string, string | bigint | number | string[]> {
  const out: Record<string, string | bigint | number | string[]> = {};
  for (const kv of kvs) {
    const key = str(one(kv, 1, 2));
    const value = sub(kv, 2);
    const f = value[0] as Field;
    if (f.field === 1) out[key] = str(f);
    else if (f.field === 3) out[key] = BigInt.asIntN(64, f.int as bigint);
    else if (f.field === 4) out[key] = dbl(f);
    else if (f.field === 5) out[key] = subs(walk(f.bytes as Uint8Array), 1).map((item) => str(one(item, 1, 2)));
    else throw new Error(`attribute ${key}: AnyValue field ${f.field}`);
  }
  return out;
}
