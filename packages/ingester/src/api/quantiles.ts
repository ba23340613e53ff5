/**
 * Quantiles from merged DDSketch bins (the protocol's PROTOCOL_MAPPING: bin i holds values in
 * (gamma^(i-1), gamma^i]). ClickHouse merges the
 * windows' bins with sumMap; this reads quantiles from the merged bins. Pure.
 */
import { PROTOCOL_MAPPING } from '@edge-telemetry/protocol';

export interface MergedSketch {
  zeros: number;
  /** Bin indexes ascending, and their counts. */
  posIdx: readonly number[];
  posCounts: readonly number[];
  negIdx: readonly number[];
  negCounts: readonly number[];
}

/** The value a bin stands for: within the relative accuracy of every value in it. */
const binValue = PROTOCOL_MAPPING.value;

/** Quantiles (each 0..1) in one pass; undefined when the sketch is empty. */
export function sketchQuantiles(s: MergedSketch, qs: readonly number[]): (number | undefined)[] {
  const sum = (a: readonly number[]) => a.reduce((x, y) => x + y, 0);
  const negTotal = sum(s.negCounts);
  const total = negTotal + s.zeros + sum(s.posCounts);
  if (total === 0) return qs.map(() => undefined);
  return qs.map((q) => {
    const rank = Math.min(Math.max(q, 0), 1) * (total - 1);
    let seen = 0;
    // Negative values: the largest index is the most negative, so walk from the end.
    for (let i = s.negIdx.length - 1; i >= 0; i--) {
      seen += s.negCounts[i] ?? 0;
      if (seen > rank) return -binValue(s.negIdx[i] ?? 0);
    }
    seen += s.zeros;
    if (seen > rank) return 0;
    for (let i = 0; i < s.posIdx.length; i++) {
      seen += s.posCounts[i] ?? 0;
      if (seen > rank) return binValue(s.posIdx[i] ?? 0);
    }
    return binValue(s.posIdx[s.posIdx.length - 1] ?? 0);
  });
}
