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
  /**
   * Every node sealing its window at the same boundary sends at the same moment: a thousand
   * gateways' batches reach the broker and the ingesters as one burst a minute (issue 21). As
   * Telegraf's flush_jitter, but fixed per node rather than random, so a node's windows stay one
   * window apart. 15 s: over 5 s, three ingester processes of a 1,000-gateway fleet spent the
   * burst with their event loops saturated and batches waited at the socket (issue 21); the
   * window's data is up to that much later in ClickHouse, beside the minute it summarises.
   */
  sealJitterMs: Type.Integer({
    minimum: 0,
    default: 15_000,
    description:
      "Seal (and send) each window up to this long after its end, by an offset fixed per node (from its name) and at most a quarter of windowMs, so that a fleet's windows do not all leave at once (the ingesters take them in turn instead of as one burst); the window's data reaches storage that much later. 0 = no offset (the seal still waits logs.window.latenessMs for late lines). Takes effect at the next start.",
  }),
  /** Container churn must not grow memory. */
  evictAfterWindows: Type.Integer({
    minimum: 1,
    default: 5,
    description: 'A series with no sample for this many consecutive windows is forgotten.',
  }),
});

export type DownsampleOptions = Static<typeof DownsampleOptionsSchema>;
