import type { MetricSummary } from '@edge-telemetry/protocol';
import { rollup } from './merge.js';
import type { SketchOps } from './sketch.js';

/**
 * Builds the coarser tiers (`tiersMs`) from the finest windows as they are flushed: each tier
 * keeps the fine windows of its open period and, when a flush closes that period, returns them
 * merged. Memory per tier is bounded by (tier / window) summaries per series.
 */
export class TierRoller {
  private readonly pending: Map<number, MetricSummary[]>;

  constructor(
    tiersMs: readonly number[],
    private readonly sketches: Pick<SketchOps, 'merge'>,
  ) {
    this.pending = new Map(tiersMs.map((t) => [t, []]));
  }

  /** Takes the windows of one flush ending at `windowEnd`; returns the tier windows that closed with it. */
  push(windows: readonly MetricSummary[], windowEnd: number): MetricSummary[] {
    const out: MetricSummary[] = [];
    for (const [tierMs, held] of this.pending) {
      for (const w of windows) held.push(w);
      if (windowEnd % tierMs !== 0) continue;
      for (const s of rollup(held, tierMs, this.sketches)) out.push(s);
      held.length = 0;
    }
    return out;
  }
}
