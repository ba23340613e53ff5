export type * from './pipeline/types.js';
