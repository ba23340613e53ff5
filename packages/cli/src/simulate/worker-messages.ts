/** What the simulator's main thread and its worker threads say to each other. */
import type { NodeFigures } from './figures.js';

export type ToWorker = { type: 'figures' } | { type: 'stop' };
export type FromWorker =
  | { type: 'started' }
  | { type: 'figures'; figures: NodeFigures[] }
  | { type: 'stopped'; figures: NodeFigures[] }
  | { type: 'failed'; error: string };
