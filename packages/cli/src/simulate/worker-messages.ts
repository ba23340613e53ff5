/** What the simulator's main thread and its worker threads say to each other. */
import type { NodeFigures } from './figures.js';
import type { LoopDelay } from './fleet-shard.js';

export type ToWorker = { type: 'figures' } | { type: 'stop' };
export type FromWorker =
  | { type: 'started' }
  | { type: 'figures'; figures: NodeFigures[]; loopDelay: LoopDelay }
  | { type: 'stopped'; figures: NodeFigures[] }
  | { type: 'failed'; error: string };
