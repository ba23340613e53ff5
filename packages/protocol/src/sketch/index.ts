export { DDSketch, type DDSketchOptions } from './ddsketch.js';
export { DenseStore } from './dense-store.js';
export { logarithmicMapping, PROTOCOL_MAPPING, SKETCH_MIN_INDEXABLE, type IndexMapping } from './mapping.js';
