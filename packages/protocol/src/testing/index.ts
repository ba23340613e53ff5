/** Test and benchmark helpers (`@edge-telemetry/protocol/testing`): seeded data, never used by the product paths. */
export { seededRng, pick, intIn, type Rng } from './prng.js';
export { randomBatch, randomString, randomNumber } from './random-batch.js';
export { sampleBatch, idleHealth, REALISTIC_SHAPE, type SampleBatchShape, type SampleSources } from './sample-batch.js';
