import { Type, type Static } from '@sinclair/typebox';

export const SpanSummaryOptionsSchema = Type.Object(
  {
    maxRows: Type.Integer({
      minimum: 1,
      default: 2000,
      description:
        'Most span summary rows (container x service x operation x kind x status) per window; spans of further rows are dropped and counted (`spans.cardinality/row_cap`).',
    }),
    exemplars: Type.Integer({
      minimum: 0,
      maximum: 8,
      default: 3,
      description: 'Trace ids kept per row and window: those of its slowest spans.',
    }),
    errorNames: Type.Integer({
      minimum: 0,
      maximum: 8,
      default: 4,
      description:
        'Distinct descriptions of error spans kept per row and window (exception type, else status message).',
    }),
  },
  { default: {} },
);

export type SpanSummaryOptions = Static<typeof SpanSummaryOptionsSchema>;
