/**
 * The sketches of a metrics section as columns (batch v3). Version 2 wrote each sketch whole, one
 * after the other; a window of 6 scrapes holds 6 values, so every sketch was a handful of small
 * varints of different kinds interleaved, which zstd codes no better than bytes. Here alike
 * numbers sit together:
 *
 *   zeros uint x s · positive offset sint x s · positive head uint x s · negative offset sint x s
 *   · negative head uint x s · zero runs uint (of every sparse store, in order) · counts uint (of
 *   every store, in order)
 *
 * for the s rows with a sketch. A head is 2n (a dense run of n counts) or 2k+1 (k non-empty bins,
 * each a zero run then a count), as in v2. An offset is written as the difference from the index
 * its row's min (positive store) or -max (negative store) predicts, so it is mostly 0 to 4 instead
 * of a number in the thousands.
 */
import type { MetricSummary, SketchBins, SketchData } from '../types/batch.js';
import { limits } from '../limits.js';
import { SKETCH_MIN_INDEXABLE } from '../sketch/mapping.js';
import type { ByteReader } from '../wire/byte-reader.js';
import type { ByteWriter } from '../wire/byte-writer.js';

/** 1 / log2(gamma) for the protocol's gamma = 1.01 / 0.99, as a literal: the predictor must give the same integer on every platform. */
const INDEX_PER_OCTAVE = 34.656203751888334;

/**
 * A lower estimate of the mapping's bin index of v (by at most 4 bins): log2(v) taken as exponent +
 * mantissa fraction. Math.log2 only guesses the exponent, which exact comparisons with powers of
 * two then fix, and dividing by a power of two is exact: so both ends compute the same integer
 * whatever their libm, where Math.log could differ in the last bit and move a floor.
 */
export function predictIndex(v: number): number {
  if (!(v > SKETCH_MIN_INDEXABLE) || !Number.isFinite(v)) return 0;
  let exponent = Math.floor(Math.log2(v));
  while (2 ** exponent > v) exponent--;
  while (2 ** (exponent + 1) <= v) exponent++;
  return Math.floor((exponent + (v / 2 ** exponent - 1)) * INDEX_PER_OCTAVE);
}

const anchors = (m: MetricSummary): [number, number] => [predictIndex(m.min), predictIndex(-m.max)];

function nonZero(counts: readonly number[]): number {
  let n = 0;
  for (const c of counts) if (c !== 0) n++;
  return n;
}

/** Sparse when fewer than half the bins are non-empty and the run ends on one (v2's rule). */
function isSparse(counts: readonly number[]): boolean {
  return !(nonZero(counts) * 2 >= counts.length || counts[counts.length - 1] === 0);
}

export function writeSketchColumns(w: ByteWriter, metrics: readonly MetricSummary[]): void {
  const rows: Array<{ sketch: SketchData; anchors: [number, number] }> = [];
  for (const m of metrics) if (m.sketch) rows.push({ sketch: m.sketch, anchors: anchors(m) });
  const stores = rows.flatMap((r) => [r.sketch.positive, r.sketch.negative]);
  const sparse = stores.map((s) => isSparse(s.counts));
  for (const r of rows) w.uint(r.sketch.zeros);
  for (const k of [0, 1] as const) {
    for (let i = 0; i < rows.length; i++) w.sint((stores[2 * i + k] as SketchBins).offset - (rows[i] as (typeof rows)[number]).anchors[k]);
    for (let i = 0; i < rows.length; i++) {
      const counts = (stores[2 * i + k] as SketchBins).counts;
      w.uint(sparse[2 * i + k] ? 2 * nonZero(counts) + 1 : 2 * counts.length);
    }
  }
  stores.forEach((s, j) => {
    if (!sparse[j]) return;
    let prev = -1;
    for (let i = 0; i < s.counts.length; i++) {
      if (s.counts[i] === 0) continue;
      w.uint(i - prev - 1);
      prev = i;
    }
  });
  stores.forEach((s, j) => {
    for (const c of s.counts) if (!sparse[j] || c !== 0) w.uint(c);
  });
}

/** Reads what writeSketchColumns wrote into the rows flagged in `has`. */
export function readSketchColumns(r: ByteReader, metrics: readonly MetricSummary[], has: readonly boolean[]): void {
  const rows = metrics.filter((_, i) => has[i]);
  const column = (read: () => number): number[] => {
    const out: number[] = [];
    for (let i = 0; i < rows.length; i++) {
      r.index = i;
      out.push(read());
    }
    return out;
  };
  r.field = 'metrics[].sketch.zeros';
  const zeros = column(() => r.uint());
  const heads: Array<{ offsets: number[]; heads: number[] }> = [];
  for (const [anchor, name] of [[0, 'positive'], [1, 'negative']] as const) {
    r.field = `metrics[].sketch.${name}.offset`;
    const offsets = column(() => r.sint()).map((d, i) => {
      const m = rows[i] as MetricSummary;
      return d + predictIndex(anchor === 0 ? m.min : -m.max);
    });
    r.field = `metrics[].sketch.${name}.bins`;
    heads.push({ offsets, heads: column(() => r.uint()) });
  }
  // Every bin takes at least a byte, so the heads are checked against the bytes left before any run is built.
  r.field = 'metrics[].sketch';
  let sparsePairs = 0;
  let bins = 0;
  rows.forEach((_, i) => {
    r.index = i;
    const [p, n] = [heads[0]?.heads[i] as number, heads[1]?.heads[i] as number];
    for (const h of [p, n]) if (h % 2 === 1) sparsePairs += (h - 1) / 2;
    const wanted = (h: number) => (h % 2 === 0 ? h / 2 : (h - 1) / 2);
    if (wanted(p) + wanted(n) > limits.maxSketchBins) r.fail('ET_ERR_INVALID_FIELD', `${wanted(p) + wanted(n)} sketch bins above the limit ${limits.maxSketchBins}`);
    bins += wanted(p) + wanted(n);
  });
  if (sparsePairs + bins > r.remaining) r.fail('ET_ERR_TRUNCATED', `sketch bins need ${sparsePairs + bins} bytes, ${r.remaining} left`);
  const runs: number[] = [];
  for (let j = 0; j < sparsePairs; j++) runs.push(r.uint());
  let run = 0;
  rows.forEach((m, i) => {
    r.index = i;
    const store = (k: 0 | 1): SketchBins => {
      const h = heads[k]?.heads[i] as number;
      const offset = heads[k]?.offsets[i] as number;
      if (h % 2 === 0) return { offset, counts: Array.from({ length: h / 2 }, () => r.uint()) };
      const counts: number[] = [];
      for (let j = 0; j < (h - 1) / 2; j++) {
        const gap = runs[run++] as number;
        if (counts.length + gap + 1 > limits.maxSketchBins) r.fail('ET_ERR_INVALID_FIELD', `sketch bins beyond the limit ${limits.maxSketchBins}`);
        for (let g = 0; g < gap; g++) counts.push(0);
        counts.push(r.uint());
      }
      return { offset, counts };
    };
    const positive = store(0);
    const negative = store(1);
    m.sketch = { zeros: zeros[i] as number, positive, negative };
  });
}
