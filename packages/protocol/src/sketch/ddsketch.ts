import type { SketchData } from '../types/batch.js';
import { limits, SKETCH_RELATIVE_ACCURACY } from '../limits.js';
import { DenseStore } from './dense-store.js';
import { logarithmicMapping, PROTOCOL_MAPPING, type IndexMapping } from './mapping.js';

export interface DDSketchOptions {
  /** Relative accuracy of quantiles; the protocol fixes it at SKETCH_RELATIVE_ACCURACY so sketches from any node merge. */
  relativeAccuracy: number;
  /** Bins per store before the lowest are collapsed; the wire allows limits.maxSketchBins in total. */
  maxBinsPerStore: number;
}

const DEFAULTS: DDSketchOptions = {
  relativeAccuracy: SKETCH_RELATIVE_ACCURACY,
  maxBinsPerStore: limits.maxSketchBins / 2,
};

/**
 * DDSketch (Masson, Rim, Lee, VLDB 2019): a mergeable quantile sketch with relative error
 * guarantees. Positive and negative values go to separate stores by magnitude; values too close
 * to zero are counted as zeros. Adding is O(1) except when the bin range grows.
 */
export class DDSketch {
  private readonly mapping: IndexMapping;
  private readonly positive: DenseStore;
  private readonly negative: DenseStore;
  private zeros = 0;

  constructor(opts: Partial<DDSketchOptions> = {}) {
    const o = { ...DEFAULTS, ...opts };
    this.mapping =
      o.relativeAccuracy === SKETCH_RELATIVE_ACCURACY ? PROTOCOL_MAPPING : logarithmicMapping(o.relativeAccuracy);
    this.positive = new DenseStore(o.maxBinsPerStore);
    this.negative = new DenseStore(o.maxBinsPerStore);
  }

  get count(): number {
    return this.zeros + this.positive.total + this.negative.total;
  }

  /** Non-finite values are ignored: a sketch summarises measurements, and NaN is not one. */
  add(v: number, count = 1): void {
    if (!Number.isFinite(v)) return;
    const m = this.mapping;
    if (v > m.minIndexable) this.positive.add(m.index(v), count);
    else if (v < -m.minIndexable) this.negative.add(m.index(-v), count);
    else this.zeros += count;
  }

  /** Adds another sketch's counts; both must use the same relative accuracy (the protocol's). */
  merge(other: DDSketch): void {
    this.positive.merge(other.positive);
    this.negative.merge(other.negative);
    this.zeros += other.zeros;
  }

  /** The value at quantile q in [0, 1], within relativeAccuracy of the true one; NaN when empty. */
  quantile(q: number): number {
    const total = this.count;
    if (total === 0 || !(q >= 0 && q <= 1)) return Number.NaN;
    const rank = q * (total - 1);
    let seen = 0;
    const neg = this.negative;
    for (let i = neg.counts.length - 1; i >= 0; i--) {
      seen += neg.counts[i] as number;
      if (seen > rank) return -this.mapping.value(neg.offset + i);
    }
    seen += this.zeros;
    if (seen > rank) return 0;
    const pos = this.positive;
    for (let i = 0; i < pos.counts.length; i++) {
      seen += pos.counts[i] as number;
      if (seen > rank) return this.mapping.value(pos.offset + i);
    }
    return this.mapping.value(pos.offset + pos.counts.length - 1);
  }

  toData(): SketchData {
    return { zeros: this.zeros, positive: this.positive.toData(), negative: this.negative.toData() };
  }

  static fromData(data: SketchData, opts: Partial<DDSketchOptions> = {}): DDSketch {
    const s = new DDSketch(opts);
    s.zeros = data.zeros;
    for (let i = 0; i < data.positive.counts.length; i++)
      s.positive.add(data.positive.offset + i, data.positive.counts[i] as number);
    for (let i = 0; i < data.negative.counts.length; i++)
      s.negative.add(data.negative.offset + i, data.negative.counts[i] as number);
    return s;
  }
}
