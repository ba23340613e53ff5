/** What the simulator's main thread and its worker threads say to each other. */
import type { NodeFigures } from './figures.js';
import type { LoopDelay } from './fleet-shard.js';

export type ToWorker = { type: 'figures' } | { type: 'stop' };
export type FromWorker =
  | { type: 'started' }
  | { type: 'figures'; figures: NodeFigures[]; loopDelay: LoopDelay }
  | { type: 'stopped'; figures: NodeFigures[] }
  /** `error`: a catalogued error's message (its `code` too), or the stack of anything else (a bug). */
  | { type: 'failed'; error: string; code?: string };
