import { SKETCH_RELATIVE_ACCURACY } from '../limits.js';

/**
 * DDSketch's logarithmic index mapping: value v > 0 goes to bin ceil(log_gamma(v)), which covers
 * (gamma^(i-1), gamma^i]; the bin's representative value 2·gamma^i/(gamma+1) is within `alpha`
 * relative error of every value in it. gamma = (1+alpha)/(1-alpha).
 */
export interface IndexMapping {
  readonly alpha: number;
  readonly gamma: number;
  /** Magnitudes below this count as zero (they would need ever more bins for no useful accuracy). */
  readonly minIndexable: number;
  index(v: number): number;
  value(index: number): number;
}

export const SKETCH_MIN_INDEXABLE = 1e-9;

export function logarithmicMapping(
  alpha: number = SKETCH_RELATIVE_ACCURACY,
  minIndexable: number = SKETCH_MIN_INDEXABLE,
): IndexMapping {
  const gamma = (1 + alpha) / (1 - alpha);
  const multiplier = 1 / Math.log(gamma);
  return {
    alpha,
    gamma,
    minIndexable,
    // `|| 0` turns the -0 that ceil gives for values just below 1 into 0, so offsets compare equal.
    index: (v) => Math.ceil(Math.log(v) * multiplier) || 0,
    value: (index) => (2 * Math.exp(index / multiplier)) / (1 + gamma),
  };
}

/** The protocol's mapping, immutable and shared: every sketch on the wire uses it, and one per sketch would cost memory per series. */
export const PROTOCOL_MAPPING: IndexMapping = Object.freeze(logarithmicMapping());
