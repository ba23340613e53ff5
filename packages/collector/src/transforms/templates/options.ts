import { Type, type Static } from '@sinclair/typebox';
import { resolveOptions } from '../../config/resolve-options.js';

/**
 * Template miner options. One configuration serves every container: the defaults were chosen on
 * the ten Loghub-2k datasets together (mean grouping accuracy), never per dataset.
 */
export const TemplateMinerOptionsSchema = Type.Object({
  maxClusters: Type.Integer({
    minimum: 1,
    default: 5000,
    description:
      'Templates kept in memory across all containers; the least recently matched is evicted first (counted).',
  }),
  similarity: Type.Number({
    minimum: 0,
    maximum: 1,
    default: 0.85,
    description: "Fraction (0..1) of a template's constant tokens a line must share to join it.",
  }),
  depth: Type.Integer({
    minimum: 3,
    maximum: 8,
    default: 4,
    description: 'Prefix-tree depth: the first `depth - 2` tokens route a line to its leaf.',
  }),
  /** Bounds the tree. */
  maxChildren: Type.Integer({
    minimum: 2,
    default: 100,
    description: 'Children per tree node before new tokens share the wildcard child.',
  }),
  /** "The rest of the line alike": clusters differing only at that position are merged. */
  mergeAfter: Type.Integer({
    minimum: 0,
    default: 3,
    description:
      'Distinct values seen at one token position that make it a variable and merge the templates; 0 turns merging off.',
  }),
  maxSamples: Type.Integer({
    minimum: 0,
    default: 3,
    description: 'Sample lines (with their parameters) shipped per template per window.',
  }),
  /** Samples are the least valuable bytes on the uplink (the full lines stay in the node's store for a log pull). */
  sampleIntervalMs: Type.Integer({
    minimum: 0,
    default: 600_000,
    description:
      "A template's samples are shipped in the window it is first seen and then at most once per this interval (its counts go every window); 0 = every window.",
  }),
  separators: Type.String({
    default: '=,',
    description: 'Punctuation that separates tokens besides whitespace (exposes keys in `k=v,k=v`).',
  }),
  /** Bounds per-line work. */
  maxTokens: Type.Integer({
    minimum: 1,
    default: 120,
    description: 'Longest line, in tokens, that is mined; further tokens are cut.',
  }),
});
export type TemplateMinerOptions = Static<typeof TemplateMinerOptionsSchema>;

export function templateMinerOptions(partial: Partial<TemplateMinerOptions> = {}): TemplateMinerOptions {
  return resolveOptions(TemplateMinerOptionsSchema, partial);
}
