/**
 * The sketches of a metrics (or spans) section as columns. Written whole, one after the other, each sketch of
 * a 6-scrape window would be a handful of small varints of different kinds interleaved, which zstd
 * codes no better than bytes. Here alike numbers sit together:
 *
 *   zeros uint x s · positive offset sint x s · positive head uint x s · negative offset sint x s
 *   · negative head uint x s · zero runs uint (of every sparse store, in order) · counts uint (of
 *   every store, in order)
 *
 * for the s rows with a sketch. A head is 2n (a dense run of n counts) or 2k+1 (k non-empty bins,
 * each a zero run then a count). An offset is written as the difference from the index
 * its row's min (positive store) or -max (negative store) predicts, so it is mostly 0 to 4 instead
 * of a number in the thousands.
 */
import type { SketchBins, SketchData } from '../types/batch.js';
import { limits } from '../limits.js';
import { SKETCH_MIN_INDEXABLE } from '../sketch/mapping.js';
import type { ByteReader } from '../wire/byte-reader.js';
import type { ByteWriter } from '../wire/byte-writer.js';

/** 1 / log2(gamma) for the protocol's gamma = 1.01 / 0.99, as a literal: the predictor must give the same integer on every platform. */
const INDEX_PER_OCTAVE = 34.656203751888334;

/**
 * A lower estimate of the mapping's bin index of v (by at most 4 bins): log2(v) taken as exponent +
 * mantissa fraction, read from the float's bits. Only exact operations and one rounded multiply,
 * so both ends compute the same integer whatever their libm, where Math.log could differ in the
 * last bit and move a floor. One predictor (one 8-byte view) serves a whole section.
 */
export function indexPredictor(): (v: number) => number {
  const view = new DataView(new ArrayBuffer(8));
  return (v) => {
    if (!(v > SKETCH_MIN_INDEXABLE) || !Number.isFinite(v)) return 0;
    view.setFloat64(0, v);
    const hi = view.getUint32(0);
    const exponent = ((hi >>> 20) & 0x7ff) - 1023;
    const fraction = ((hi & 0xfffff) * 2 ** 32 + view.getUint32(4)) / 2 ** 52;
    return Math.floor((exponent + fraction) * INDEX_PER_OCTAVE);
  };
}

/** A row with a sketch: a metric summary or a span summary; its min and max predict the sketch's offsets. */
export interface SketchRow {
  min: number;
  max: number;
  sketch?: SketchData;
}

export function writeSketchColumns(w: ByteWriter, metrics: readonly SketchRow[]): void {
  const predict = indexPredictor();
  const rows = metrics.filter((m): m is SketchRow & { sketch: SketchData } => m.sketch !== undefined);
  // Stores in order: row 0 positive, row 0 negative, row 1 positive, ...; an odd head is a sparse store.
  const stores = rows.flatMap((m) => [m.sketch.positive, m.sketch.negative]);
  const heads = stores.map(({ counts }) => {
    let nonZero = 0;
    for (const c of counts) if (c !== 0) nonZero++;
    // Sparse when fewer than half the bins are non-empty and the run ends on one.
    return nonZero * 2 >= counts.length || counts[counts.length - 1] === 0 ? 2 * counts.length : 2 * nonZero + 1;
  });
  for (const m of rows) w.uint(m.sketch.zeros);
  for (const m of rows) w.sint(m.sketch.positive.offset - predict(m.min));
  for (let i = 0; i < rows.length; i++) w.uint(heads[2 * i] as number);
  for (const m of rows) w.sint(m.sketch.negative.offset - predict(-m.max));
  for (let i = 0; i < rows.length; i++) w.uint(heads[2 * i + 1] as number);
  stores.forEach(({ counts }, j) => {
    if ((heads[j] as number) % 2 === 0) return;
    let prev = -1;
    for (let i = 0; i < counts.length; i++) {
      if (counts[i] === 0) continue;
      w.uint(i - prev - 1);
      prev = i;
    }
  });
  stores.forEach(({ counts }, j) => {
    const sparse = (heads[j] as number) % 2 === 1;
    for (const c of counts) if (!sparse || c !== 0) w.uint(c);
  });
}

/** Reads what writeSketchColumns wrote into the rows flagged in `has`; `section` names the fields in errors. */
export function readSketchColumns(
  r: ByteReader,
  metrics: readonly SketchRow[],
  has: readonly boolean[],
  section = 'metrics',
): void {
  const rows: SketchRow[] = [];
  for (let i = 0; i < metrics.length; i++) if (has[i]) rows.push(metrics[i] as SketchRow);
  const n = rows.length;
  const column = (field: string, read: () => number): number[] => {
    r.field = field;
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      r.index = i;
      out[i] = read();
    }
    return out;
  };
  const uint = (): number => r.uint();
  const zeros = column(`${section}[].sketch.zeros`, uint);
  const predict = indexPredictor();
  const posOffsets = column(`${section}[].sketch.positive.offset`, () => r.sint());
  const posHeads = column(`${section}[].sketch.positive.bins`, uint);
  const negOffsets = column(`${section}[].sketch.negative.offset`, () => r.sint());
  const negHeads = column(`${section}[].sketch.negative.bins`, uint);
  // Every bin takes at least a byte, so the heads are checked against the bytes left before any run is built.
  r.field = `${section}[].sketch`;
  const binsOf = (h: number): number => (h % 2 === 0 ? h / 2 : (h - 1) / 2);
  let pairs = 0;
  let bins = 0;
  for (let i = 0; i < n; i++) {
    r.index = i;
    const [p, q] = [posHeads[i] as number, negHeads[i] as number];
    if (p % 2 === 1) pairs += (p - 1) / 2;
    if (q % 2 === 1) pairs += (q - 1) / 2;
    const b = binsOf(p) + binsOf(q);
    if (b > limits.maxSketchBins)
      r.fail('ET_ERR_INVALID_FIELD', `${b} sketch bins above the limit ${limits.maxSketchBins}`);
    bins += b;
  }
  if (pairs + bins > r.remaining)
    r.fail('ET_ERR_TRUNCATED', `sketch bins need ${pairs + bins} bytes, ${r.remaining} left`);
  const runs = new Array<number>(pairs);
  for (let j = 0; j < pairs; j++) runs[j] = r.uint();
  let run = 0;
  /** `maxBins`: what the sketch has left of limits.maxSketchBins (the negative store gets what the positive did not take). */
  const store = (head: number, offset: number, maxBins: number): SketchBins => {
    const counts: number[] = [];
    if (head % 2 === 0) {
      for (let j = 0; j < head / 2; j++) counts.push(r.uint());
      return { offset, counts };
    }
    for (let j = 0; j < (head - 1) / 2; j++) {
      const gap = runs[run++] as number;
      if (counts.length + gap + 1 > maxBins)
        r.fail('ET_ERR_INVALID_FIELD', `sketch bins beyond the limit ${limits.maxSketchBins}`);
      for (let g = 0; g < gap; g++) counts.push(0);
      counts.push(r.uint());
    }
    return { offset, counts };
  };
  for (let i = 0; i < n; i++) {
    r.index = i;
    const m = rows[i] as SketchRow;
    const positive = store(posHeads[i] as number, (posOffsets[i] as number) + predict(m.min), limits.maxSketchBins);
    const negative = store(
      negHeads[i] as number,
      (negOffsets[i] as number) + predict(-m.max),
      limits.maxSketchBins - positive.counts.length,
    );
    m.sketch = { zeros: zeros[i] as number, positive, negative };
  }
}
