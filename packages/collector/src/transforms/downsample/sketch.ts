import type { SketchData } from '@edge-telemetry/protocol';

/**
 * What the downsampler needs from a quantile sketch. The protocol's DDSketch satisfies it; the
 * downsampler takes a factory so it stays pure and the sketch's bin cap is set in one place.
 */
export interface QuantileSketch {
  /** `count` observations of `value` (histogram buckets add many at once). */
  add(value: number, count?: number): void;
  toData(): SketchData;
}

export interface SketchOps {
  create(): QuantileSketch;
  /** Merges two serialised sketches (windows into coarser windows). */
  merge(a: SketchData, b: SketchData): SketchData;
}
