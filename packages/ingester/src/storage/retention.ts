/** How long each table keeps its rows (the `retention` section of the ingester's config); migrations set the TTLs from it. */
import { Type, type Static } from '@sinclair/typebox';

export const RetentionOptions = Type.Object(
  {
    metricsDays: Type.Integer({ minimum: 1, default: 30, description: 'Days metric and span summaries are kept.' }),
    rollupDays: Type.Integer({
      minimum: 1,
      default: 400,
      description: 'Days the hourly metric rollup is kept (long-range charts).',
    }),
    logsDays: Type.Integer({
      minimum: 1,
      default: 7,
      description: 'Days log events, templates and container events are kept.',
    }),
    ledgerDays: Type.Integer({
      minimum: 1,
      default: 30,
      description:
        'Days the batch ledger, node status and health rows are kept (duplicates older than this are stored again).',
    }),
    deadLetterDays: Type.Integer({ minimum: 1, default: 14, description: 'Days rejected messages are kept.' }),
    referencesDays: Type.Integer({
      minimum: 1,
      default: 7,
      description:
        'Days keyframe bodies are kept for nodes to compress against; a node offline longer sends its next batches standalone.',
    }),
  },
  { additionalProperties: false, default: {} },
);

export type RetentionConfig = Static<typeof RetentionOptions>;
