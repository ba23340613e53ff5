import { Type, type Static } from '@sinclair/typebox';

export const DedupOptionsSchema = Type.Object({
  enabled: Type.Boolean({
    default: true,
    description: 'Collapse consecutive identical lines (same level, stream and message) into one with a repeat count.',
  }),
  /** So that a line repeated forever still shows up. */
  maxRepeat: Type.Integer({
    minimum: 1,
    default: 10000,
    description: 'A run of repeats is closed and shipped after this many lines.',
  }),
});
export type DedupOptions = Static<typeof DedupOptionsSchema>;
