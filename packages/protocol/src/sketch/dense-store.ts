import type { SketchBins } from '../types/batch.js';

/**
 * Bin counts for a contiguous run of indexes: counts[i] belongs to index offset + i. Holds at most
 * `maxBins` bins; beyond that the lowest bins are folded into the lowest kept one (their values
 * lose accuracy, the upper quantiles that matter for alerting keep it).
 */
export class DenseStore {
  offset = 0;
  counts: number[] = [];
  total = 0;

  constructor(readonly maxBins: number) {}

  add(index: number, count = 1): void {
    if (count === 0) return;
    this.total += count;
    const n = this.counts.length;
    if (n === 0) {
      this.offset = index;
      this.counts.push(count);
      return;
    }
    const top = this.offset + n - 1;
    if (index > top) {
      for (let i = top + 1; i <= index; i++) this.counts.push(0);
      this.counts[this.counts.length - 1] = count;
      this.collapseLowest();
      return;
    }
    if (index < this.offset) {
      // The run may grow down to top - maxBins + 1; anything lower lands in the lowest bin.
      const target = Math.max(index, top - this.maxBins + 1);
      if (target < this.offset) {
        const grow = this.offset - target;
        this.counts = new Array<number>(grow).fill(0).concat(this.counts);
        this.offset = target;
      }
      this.counts[target - this.offset] = (this.counts[target - this.offset] as number) + count;
      return;
    }
    this.counts[index - this.offset] = (this.counts[index - this.offset] as number) + count;
  }

  private collapseLowest(): void {
    const excess = this.counts.length - this.maxBins;
    if (excess <= 0) return;
    let folded = 0;
    for (let i = 0; i <= excess; i++) folded += this.counts[i] as number;
    this.counts = this.counts.slice(excess);
    this.counts[0] = folded;
    this.offset += excess;
  }

  merge(other: DenseStore): void {
    for (let i = 0; i < other.counts.length; i++) this.add(other.offset + i, other.counts[i] as number);
  }

  toData(): SketchBins {
    return { offset: this.counts.length === 0 ? 0 : this.offset, counts: this.counts.slice() };
  }

  static fromData(data: SketchBins, maxBins: number): DenseStore {
    const s = new DenseStore(maxBins);
    for (let i = 0; i < data.counts.length; i++) s.add(data.offset + i, data.counts[i] as number);
    return s;
  }
}
