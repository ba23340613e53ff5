import { Type, type Static } from '@sinclair/typebox';

export const DownsampleOptionsSchema = Type.Object({
  windowMs: Type.Integer({
    minimum: 100,
    default: 60_000,
    description:
      'Length of the summary window (ms) that raw samples are aggregated into; a multiple of scrapeIntervalMs.',
  }),
  /** Multiples of windowMs, so that merged windows equal windows computed from raw samples (up to significantDigits' rounding). */
  tiersMs: Type.Array(Type.Integer({ minimum: 100 }), {
    default: [],
    description:
      'Coarser tiers (ms) that finished windows are merged into, e.g. [300000, 3600000]; each a multiple of windowMs.',
  }),
  maxSeries: Type.Integer({
    minimum: 1,
    default: 10_000,
    description:
      'Most series (container x metric) held at once; samples of further series are dropped and counted (`series_cap`).',
  }),
  significantDigits: Type.Integer({
    minimum: 0,
    maximum: 15,
    default: 4,
    description:
      "Significant digits of each window's sum, min, max and last (0 = exact); the quantile sketch is 1% whatever this is. Fewer digits, fewer uplink bytes.",
  }),
  /** Container churn must not grow memory. */
  evictAfterWindows: Type.Integer({
    minimum: 1,
    default: 5,
    description: 'A series with no sample for this many consecutive windows is forgotten.',
  }),
});

export type DownsampleOptions = Static<typeof DownsampleOptionsSchema>;
