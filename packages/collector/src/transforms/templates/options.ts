import { Type, type Static } from '@sinclair/typebox';
import { resolveOptions } from '../../config/resolve-options.js';

/**
 * Template miner options. One configuration serves every container: the defaults were chosen on
 * the ten Loghub-2k datasets together (mean grouping accuracy), never per dataset.
 */
export const TemplateMinerOptionsSchema = Type.Object({
  /** Clusters kept in memory across all containers; the least recently matched is evicted first (counted). */
  maxClusters: Type.Integer({ minimum: 1, default: 5000 }),
  /** Fraction of a cluster's constant tokens a line must share to join it (0..1). */
  similarity: Type.Number({ minimum: 0, maximum: 1, default: 0.85 }),
  /** Prefix-tree depth: the first `depth - 2` tokens route a line to its leaf. */
  depth: Type.Integer({ minimum: 3, maximum: 8, default: 4 }),
  /** Children per tree node before new tokens share the wildcard child (bounds the tree). */
  maxChildren: Type.Integer({ minimum: 2, default: 100 }),
  /**
   * Distinct values seen at one position (the rest of the line alike) that make it a variable:
   * clusters differing only there are merged. 0 turns merging off.
   */
  mergeAfter: Type.Integer({ minimum: 0, default: 3 }),
  /** Samples (with their parameters) kept per template per window. */
  maxSamples: Type.Integer({ minimum: 0, default: 3 }),
  /** Punctuation that separates tokens besides whitespace (exposes keys in `k=v,k=v`). */
  separators: Type.String({ default: '=,' }),
  /** Longest line, in tokens, that is mined; the rest are cut (bounds per-line work). */
  maxTokens: Type.Integer({ minimum: 1, default: 120 }),
});
export type TemplateMinerOptions = Static<typeof TemplateMinerOptionsSchema>;

export function templateMinerOptions(partial: Partial<TemplateMinerOptions> = {}): TemplateMinerOptions {
  return resolveOptions(TemplateMinerOptionsSchema, partial);
}
