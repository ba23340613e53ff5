import { Type, type Static } from '@sinclair/typebox';
import { CollectorError } from '../../errors.js';
import { resolveOptions } from '../../config/resolve-options.js';

export const DownsampleOptionsSchema = Type.Object({
  /** Length of the finest summary window (ms); raw samples are aggregated into windows of this length. */
  windowMs: Type.Integer({ minimum: 100, default: 60_000 }),
  /**
   * Coarser tiers (ms) that `rollup()` merges finished windows into, e.g. [300000, 3600000]. Each
   * must be a multiple of windowMs so that merged windows equal windows computed from raw samples.
   */
  tiersMs: Type.Array(Type.Integer({ minimum: 100 }), { default: [] }),
  /** Most series (container x metric) held at once; samples of further series are dropped and counted as `metrics.cardinality`/`series_cap`. */
  maxSeries: Type.Integer({ minimum: 1, default: 10_000 }),
  /** A series with no sample for this many consecutive windows is forgotten (container churn must not grow memory). */
  evictAfterWindows: Type.Integer({ minimum: 1, default: 5 }),
});

export type DownsampleOptions = Static<typeof DownsampleOptionsSchema>;

export function resolveDownsampleOptions(partial?: Partial<DownsampleOptions>): DownsampleOptions {
  const o = resolveOptions(DownsampleOptionsSchema, partial);
  const bad = o.tiersMs.find((t) => t % o.windowMs !== 0);
  if (bad !== undefined) throw new CollectorError('ET_ERR_OPTIONS', `/tiersMs: ${bad} is not a multiple of windowMs ${o.windowMs}`);
  return o;
}
