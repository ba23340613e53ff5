import { describe, expect, it } from 'vitest';
import { ByteWriter } from './byte-writer.js';
import { ByteReader } from './byte-reader.js';
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
    expect(() => new ByteReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])).uint()).toThrow(/above 2\^53/);
  });

  it('numbers take the shortest lossless form and come back bit-exact (20k seeded values)', () => {
    const rng = seededRng(9);
    const vals = [0, -0, 1, -1, 0.1, 73.96732207, 1e-6, 9.99e-7, 123456789012345.6, 2 ** 50, 2 ** 50 + 1, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE];
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

  it('strings: ASCII, multi-byte UTF-8, and refusal of overlong or surrogate encodings', () => {
    const w = new ByteWriter(2);
    for (const s of ['', 'abc', 'x'.repeat(300), 'ключ 日本 😀']) w.str(s);
    const r = new ByteReader(w.finish());
    for (const s of ['', 'abc', 'x'.repeat(300), 'ключ 日本 😀']) expect(r.str(1000)).toBe(s);
    for (const bad of [[0x02, 0xc0, 0xaf], [0x03, 0xed, 0xa0, 0x80]]) expect(() => new ByteReader(Buffer.from(bad)).str(10)).toThrow(/invalid UTF-8/);
  });
});
