import { describe, expect, it } from 'vitest';
import type { MetricSummary } from '../types/batch.js';
import { DDSketch } from '../sketch/index.js';
import { PROTOCOL_MAPPING } from '../sketch/mapping.js';
import { seededRng } from '../testing/index.js';
import { ByteReader } from '../wire/byte-reader.js';
import { ByteWriter } from '../wire/byte-writer.js';
import { indexPredictor, readSketchColumns, writeSketchColumns } from './sketch-columns.js';

const summary = (values: number[]): MetricSummary => {
  const s = new DDSketch();
  for (const v of values) s.add(v);
  const sum = values.reduce((a, b) => a + b, 0);
  return {
    container: 'c',
    metric: 'm',
    start: 0,
    end: 60_000,
    count: values.length,
    sum,
    min: Math.min(...values),
    max: Math.max(...values),
    last: values.at(-1) as number,
    gaps: 0,
    resets: 0,
    sketch: s.toData(),
  };
};

const roundTrip = (ms: MetricSummary[]): MetricSummary[] => {
  const w = new ByteWriter();
  writeSketchColumns(w, ms);
  const r = new ByteReader(w.finish());
  const back = ms.map(({ sketch: _, ...m }) => ({ ...m }) as MetricSummary);
  readSketchColumns(
    r,
    back,
    ms.map((m) => m.sketch !== undefined),
  );
  expect(r.remaining).toBe(0);
  return back;
};

describe('sketch columns (batch v3)', () => {
  it('predicts the bin index from the float bits, never above it and at most 4 below, with the literal equal to 1/log2(gamma)', () => {
    expect(Math.abs(1 / Math.log2(PROTOCOL_MAPPING.gamma) - 34.656203751888334)).toBeLessThan(1e-9);
    const predictIndex = indexPredictor();
    const rng = seededRng(3);
    for (let i = 0; i < 100_000; i++) {
      const v = 10 ** (rng() * 24 - 8);
      const d = PROTOCOL_MAPPING.index(v) - predictIndex(v);
      if (d < 0 || d > 4) throw new Error(`${v}: index ${PROTOCOL_MAPPING.index(v)}, predicted ${predictIndex(v)}`);
    }
    expect([0, -1, 1e-12, Number.NaN].map(predictIndex)).toEqual([0, 0, 0, 0]);
  });

  it('round-trips dense and sparse runs, negative stores, zeros and rows without a sketch', () => {
    const rng = seededRng(5);
    const ms: MetricSummary[] = [
      summary([40, 41.5, 42, 45, 50, 50]),
      summary([0.001, 1000.5, 234.066]),
      summary([-1, -1.02, 0, 3]),
      { ...summary([7]), sketch: undefined } as MetricSummary,
      summary(Array.from({ length: 500 }, () => rng() * 100)),
      summary([-5e6, -4e6, -1e-12]),
    ];
    const back = roundTrip(ms);
    expect(back).toEqual(ms.map((m) => (m.sketch ? m : (({ sketch: _, ...rest }) => rest)(m))));
  });

  it('refuses heads above the bin limit and runs the bytes cannot hold, before building them', () => {
    const ms = [summary([1, 2, 3])];
    const bad = (heads: [number, number]) => {
      const w = new ByteWriter();
      w.uint(0);
      w.sint(0);
      w.uint(heads[0]);
      w.sint(0);
      w.uint(heads[1]);
      w.uint(1);
      return new ByteReader(w.finish());
    };
    const rows = () => ms.map(({ sketch: _, ...m }) => ({ ...m }) as MetricSummary);
    expect(() => readSketchColumns(bad([2 * 4000, 2 * 200]), rows(), [true])).toThrow(/above the limit/);
    expect(() => readSketchColumns(bad([2 * 50 + 1, 0]), rows(), [true])).toThrow(/need 100 bytes, 1 left/);
  });
});
