import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ByteWriter } from './byte-writer.js';
import { ByteReader } from './byte-reader.js';
import { readNumColumn, writeNumColumn } from './num-column.js';
import { randomNumber, seededRng } from '../testing/index.js';

describe('wire primitives', () => {
  it('varints are exact across the safe-integer range and refuse more', () => {
    const vals = [0, 1, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 49 + 3, Number.MAX_SAFE_INTEGER];
    const signed = [0, -1, 1, -64, 64, -(2 ** 40), 2 ** 51, -(2 ** 51) - 1];
    const w = new ByteWriter(4);
    for (const v of vals) w.uint(v);
    for (const v of signed) w.sint(v);
    const r = new ByteReader(w.finish());
    for (const v of vals) expect(r.uint()).toBe(v);
    for (const v of signed) expect(r.sint()).toBe(v);
    expect(r.remaining).toBe(0);
    expect(() => new ByteReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])).uint()).toThrow(
      /above 2\^53/,
    );
  });

  it('numbers take the shortest lossless form and come back bit-exact (20k seeded values)', () => {
    const rng = seededRng(9);
    const vals = [
      0,
      -0,
      1,
      -1,
      0.1,
      73.96732207,
      1e-6,
      9.99e-7,
      123456789012345.6,
      2 ** 50,
      2 ** 50 + 1,
      2 ** 53,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
    ];
    for (let i = 0; i < 20_000; i++) vals.push(randomNumber(rng));
    const w = new ByteWriter();
    for (const v of vals) w.num(v);
    const r = new ByteReader(w.finish());
    for (const v of vals) expect(Object.is(r.num(), v)).toBe(true);
    const size = (v: number): number => {
      const x = new ByteWriter();
      x.num(v);
      return x.length;
    };
    expect(size(31)).toBe(1);
    expect(size(-1000)).toBe(2);
    expect(size(73.96732207)).toBeLessThan(8);
    expect(size(Math.PI)).toBe(9);
    expect(size(-0)).toBe(9);
  });

  it('number columns: values rounded to a few digits go as mantissa x 10^e (v3), bit-exact; earlier versions refuse that form', () => {
    const rng = seededRng(11);
    const vals = [123_400_000, -56_000, 10, 1e15, 2 ** 50, 0, -0, 17, 73.96, Math.PI];
    // Columns carry finite values only (the batch validator refuses the rest).
    for (let i = 0; vals.length < 20_000; i++) {
      const raw = randomNumber(rng);
      const v = i % 2 === 0 ? Number(raw.toPrecision(1 + (i % 6))) : raw;
      if (Number.isFinite(v)) vals.push(v);
    }
    const w = new ByteWriter();
    writeNumColumn(w, vals);
    const bytes = w.finish();
    const back = readNumColumn(new ByteReader(bytes), vals.length);
    expect(back.every((v, i) => Object.is(v, vals[i]))).toBe(true);
    // A scale outside 10^1..10^15, and a scaled integer beyond the range integers are written in.
    for (const [e, m] of [
      [0, 2],
      [16, 2],
      [15, 4000],
    ]) {
      const bad = new ByteWriter();
      bad.uint(9);
      bad.uint(e as number);
      bad.byte(2);
      bad.byte((m as number) % 256);
      bad.byte(Math.floor((m as number) / 256));
      expect(() => readNumColumn(new ByteReader(bad.finish()), 1)).toThrow(/integer scale|above 2\^50/);
    }
    // Rounded gauges cost fewer bytes than the plain varints of the same integers, more so once compressed (the tags repeat).
    const rounded = Array.from({ length: 100 }, (_, i) => 123_400_000 + i * 100_000);
    const column = new ByteWriter();
    writeNumColumn(column, rounded);
    const plain = new ByteWriter();
    for (const v of rounded) plain.uint(v * 4);
    expect(column.length).toBeLessThan(plain.length);
    expect(gzipSync(column.finish()).length).toBeLessThan(gzipSync(plain.finish()).length * 0.7);
  });

  it('strings: ASCII, multi-byte UTF-8, and refusal of overlong or surrogate encodings', () => {
    const w = new ByteWriter(2);
    for (const s of ['', 'abc', 'x'.repeat(300), 'ключ 日本 😀']) w.str(s);
    const r = new ByteReader(w.finish());
    for (const s of ['', 'abc', 'x'.repeat(300), 'ключ 日本 😀']) expect(r.str(1000)).toBe(s);
    for (const bad of [
      [0x02, 0xc0, 0xaf],
      [0x03, 0xed, 0xa0, 0x80],
    ])
      expect(() => new ByteReader(Buffer.from(bad)).str(10)).toThrow(/invalid UTF-8/);
  });
});
