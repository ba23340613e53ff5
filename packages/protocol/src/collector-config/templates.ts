import { Type, type Static } from '@sinclair/typebox';

/**
 * Template miner options. One configuration serves every container. The defaults of `similarity`,
 * `depth`, `mergeAfter`, `mergePositions` and `dottedNames` are what the leave-one-out procedure
 * of `loghubLeaveOneOut` chooses on all ten Loghub-2k datasets together (mean grouping plus
 * parsing accuracy over a grid), never per dataset; `npm run bench -- logs` checks that they
 * still are. `valueText` only changes how templates read; its default keeps the uplink within
 * its byte budget.
 */
export const TemplateMinerOptionsSchema = Type.Object({
  maxClusters: Type.Integer({
    minimum: 1,
    default: 5000,
    description:
      'Templates kept in memory across all containers; the least recently matched is evicted first (counted).',
  }),
  maxHeldTokens: Type.Integer({
    minimum: 1,
    default: 64000,
    description:
      "Tokens held by all templates together (a template holds its token count once per line length it has taken); past it, as past `maxClusters`, the least recently matched are evicted (counted). A template's memory grows with its tokens: the bound holds the miner's whatever the lines' length.",
  }),
  similarity: Type.Number({
    minimum: 0,
    maximum: 1,
    default: 0.6,
    description:
      "Fraction (0..1) of a line's tokens that must agree with a template for it to join where it has values in place of the template's words or words in place of its values (two different words never join; 1 = only lines that fit).",
  }),
  depth: Type.Integer({
    minimum: 3,
    maximum: 8,
    default: 3,
    description:
      'Prefix-tree depth: the first `depth - 2` words of a line route it; lines with other first words are never compared.',
  }),
  /** Bounds the tree. */
  maxChildren: Type.Integer({
    minimum: 2,
    default: 100,
    description: 'Children per tree node before new tokens share the wildcard child.',
  }),
  /** Fewer different words at a position stay different events (`GET`/`POST`, `opened`/`closed`). */
  mergeAfter: Type.Integer({
    minimum: 0,
    default: 5,
    description:
      'Different words seen at one position of otherwise alike templates that make it a parameter and merge them; 0 = never.',
  }),
  mergePositions: Type.Integer({
    minimum: 1,
    maximum: 3,
    default: 1,
    description:
      'Word positions (1 to 3) in which templates may differ and still be merged by `mergeAfter` (a name and its tag varying together).',
  }),
  maxSamples: Type.Integer({
    minimum: 0,
    default: 3,
    description: 'Sample lines (with their parameters) shipped per template per window.',
  }),
  /**
   * Samples are the least valuable bytes on the uplink (the full lines stay in the node's store for
   * a log pull): 15 min rather than 10 pays for the templates that keep events apart (`mergeAfter`)
   * within the uplink's byte budget.
   */
  sampleIntervalMs: Type.Integer({
    minimum: 0,
    default: 900_000,
    description:
      "A template's samples are shipped in the window it is first seen and then at most once per this interval (its counts go every window); 0 = every window.",
  }),
  /** Only changes how templates read: grouping is the same. `segments` costs more bytes on the uplink (longer texts, changed more often). */
  valueText: Type.Union([Type.Literal('masked'), Type.Literal('segments'), Type.Literal('literal')], {
    default: 'masked',
    description:
      'How a template shows a value it has not yet seen vary that is not a plain number, id, address or time (`node-160`, `/var/log/x`): `segments` with its parts that hold digits as `<*>` (`node-<*>`) and paths as `<*>`, `masked` as `<*>`, `literal` as written (`segments` and `masked` keep names with one small number like `ssh2`, and quoted strings, as written).',
  }),
  dottedNames: Type.Boolean({
    default: true,
    description:
      'Names with two dots or more (`api.example.com`, `org.example.Client`) are values, like paths and file names.',
  }),
  separators: Type.String({
    default: '=,|',
    description:
      'Punctuation that separates tokens besides whitespace (exposes keys in `k=v,k=v` and fields in `a|b|c`).',
  }),
  /** Bounds per-line work. */
  maxTokens: Type.Integer({
    minimum: 1,
    default: 120,
    description: 'Longest line, in tokens, that is mined; further tokens are cut.',
  }),
});
export type TemplateMinerOptions = Static<typeof TemplateMinerOptionsSchema>;
