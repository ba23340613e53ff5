import { DDSketch } from '@edge-telemetry/protocol';
import type { SketchOps } from './sketch.js';

/** The protocol's DDSketch (1% relative accuracy, bins capped by limits.maxSketchBins) as the downsampler's sketch. */
export const ddSketchOps: SketchOps = {
  create: () => new DDSketch(),
  merge: (a, b) => {
    const s = DDSketch.fromData(a);
    s.merge(DDSketch.fromData(b));
    return s.toData();
  },
};
