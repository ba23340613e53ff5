export * from './types/batch.js';
export * from './types/messages.js';
export * from './topics/topics.js';
export * from './errors/errors.js';
export * from './limits.js';
export * from './codec/batch-codec.js';
export * from './codec/control-codec.js';
