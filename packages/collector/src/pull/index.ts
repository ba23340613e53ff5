/** Answers log-pull commands from the node's full-log store (see docs/pull.md). */
export {
  PullResponder,
  type PullLink,
  type PullStore,
  type PullResponderDeps,
  type PullResponderStats,
} from './responder.js';
export { PullOptionsSchema, pullOptions, type PullOptions } from './options.js';
export { chunkLines, emptyTotals, type PulledChunk, type ChunkTotals } from './chunker.js';
export { formatPulledLine } from './line-format.js';
