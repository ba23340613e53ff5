import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DDSketch } from './ddsketch.js';
import { SKETCH_RELATIVE_ACCURACY } from '../limits.js';
import { checkSketch } from '../validate/batch.js';
import { seededRng } from '../testing/prng.js';

// ../shared/corpora beside the repository (CI lays it there too).
const nab = new URL('../../../../../shared/corpora/nab/data', import.meta.url).pathname;
// Skipped only in a user's clone without ../shared/corpora; CI always has it.
const haveNab = existsSync(nab);
if (!haveNab && process.env.CI) throw new Error(`NAB corpus missing at ${nab} (required in CI)`);
const series = haveNab
  ? ['realKnownCause', 'realAWSCloudwatch'].flatMap((d) =>
      readdirSync(path.join(nab, d)).map((f) => path.join(nab, d, f)),
    )
  : [];
const values = (file: string): number[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => Number(l.split(',')[1]));

/** The exact value at rank floor(q (n-1)): the element DDSketch's quantile answers for. */
const exact = (sorted: number[], q: number): number => sorted[Math.floor(q * (sorted.length - 1))] as number;
const QS = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];
// Float rounding in log/exp may push a bin's representative a hair past alpha.
const tolerance = SKETCH_RELATIVE_ACCURACY * (1 + 1e-9);

function within(est: number, truth: number): boolean {
  return Math.abs(est - truth) <= tolerance * Math.abs(truth);
}

describe.runIf(haveNab)('DDSketch on real NAB series', () => {
  it(`reads ${series.length} series`, () => expect(series.length).toBeGreaterThanOrEqual(20));

  for (const file of series) {
    it(`quantiles of ${path.basename(file)} are within 1% relative error`, () => {
      const vs = values(file);
      const s = new DDSketch();
      for (const v of vs) s.add(v);
      const sorted = [...vs].sort((a, b) => a - b);
      expect(s.count).toBe(vs.length);
      for (const q of QS) {
        const est = s.quantile(q);
        const truth = exact(sorted, q);
        if (!within(est, truth)) throw new Error(`q=${q}: estimate ${est}, true ${truth}`);
      }
    });
  }

  it('merge(a, b) equals the sketch of the union, and quantiles stay within 1%', () => {
    const a = values(path.join(nab, 'realKnownCause', 'nyc_taxi.csv'));
    const b = values(path.join(nab, 'realKnownCause', 'machine_temperature_system_failure.csv')).map((v) => -v);
    const sa = new DDSketch();
    a.forEach((v) => sa.add(v));
    const sb = new DDSketch();
    b.forEach((v) => sb.add(v));
    sb.add(0);
    const union = new DDSketch();
    [...a, ...b, 0].forEach((v) => union.add(v));
    sa.merge(sb);
    expect(sa.toData()).toEqual(union.toData());
    const sorted = [...a, ...b, 0].sort((x, y) => x - y);
    for (const q of QS) expect(within(sa.quantile(q), exact(sorted, q))).toBe(true);
  });
});

describe('DDSketch mechanics', () => {
  it('is empty until something is added', () => {
    const s = new DDSketch();
    expect(s.count).toBe(0);
    expect(s.quantile(0.5)).toBeNaN();
    expect(s.toData()).toEqual({ zeros: 0, positive: { offset: 0, counts: [] }, negative: { offset: 0, counts: [] } });
  });

  it('counts zeros and near-zeros apart, orders negatives before positives, ignores non-finite values', () => {
    const s = new DDSketch();
    for (const v of [-5, 0, 1e-12, 5, Number.NaN, Number.POSITIVE_INFINITY]) s.add(v);
    expect(s.count).toBe(4);
    expect(s.toData().zeros).toBe(2);
    expect(within(s.quantile(0), -5)).toBe(true);
    expect(s.quantile(0.5)).toBe(0);
    expect(within(s.quantile(1), 5)).toBe(true);
  });

  it('toData/fromData round-trip, and the data passes the wire validation', () => {
    const rng = seededRng(3);
    const s = new DDSketch();
    for (let i = 0; i < 10_000; i++) s.add((rng() - 0.2) * 1e4);
    const data = s.toData();
    expect(() => checkSketch(data, 'sketch')).not.toThrow();
    const back = DDSketch.fromData(data);
    expect(back.toData()).toEqual(data);
    for (const q of QS) expect(back.quantile(q)).toBe(s.quantile(q));
  });

  it('collapses the lowest bins when the cap is reached, keeping the upper quantiles accurate', () => {
    const s = new DDSketch({ maxBinsPerStore: 64 });
    const vs: number[] = [];
    for (let i = 0; i < 2000; i++) vs.push(1.01 ** i);
    // Descending first, so the store must also grow downwards past its cap.
    for (const v of [...vs].reverse()) s.add(v);
    const data = s.toData();
    expect(data.positive.counts.length).toBe(64);
    expect(data.positive.counts.reduce((x, y) => x + y, 0)).toBe(2000);
    const sorted = [...vs].sort((a, b) => a - b);
    for (const q of [0.99, 0.999, 1]) expect(within(s.quantile(q), exact(sorted, q))).toBe(true);
    // Merging collapsed sketches keeps the cap and the total.
    const t = new DDSketch({ maxBinsPerStore: 64 });
    for (const v of vs) t.add(v);
    s.merge(t);
    expect(s.toData().positive.counts.length).toBe(64);
    expect(s.count).toBe(4000);
  });
});
