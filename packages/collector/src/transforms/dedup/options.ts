import { Type, type Static } from '@sinclair/typebox';

export const DedupOptionsSchema = Type.Object({
  /** Collapse consecutive identical lines (same level, stream and message) into one with a repeat count. */
  enabled: Type.Boolean({ default: true }),
  /** A run of repeats is closed after this many lines, so that a line repeated forever still shows up. */
  maxRepeat: Type.Integer({ minimum: 1, default: 10000 }),
});
export type DedupOptions = Static<typeof DedupOptionsSchema>;
