/** Protocol version carried by every message. Bump only with a golden-vector set for the new version. */
export const PROTOCOL_VERSION = 1;

/**
 * Size limits both sides enforce. The ingester checks the compressed size before it decompresses
 * and tells zstd the decompressed cap, so a decompression bomb costs it at most MAX_BATCH_DECODED_BYTES.
 */
export const limits = {
  maxBatchWireBytes: 1024 * 1024,
  maxBatchDecodedBytes: 16 * 1024 * 1024,
  maxPullChunkWireBytes: 256 * 1024,
  maxPullChunkDecodedBytes: 4 * 1024 * 1024,
  maxControlMessageBytes: 64 * 1024,
  maxStringBytes: 64 * 1024,
  maxItemsPerSection: 200_000,
  maxMapEntries: 256,
  maxTemplateSamples: 16,
  maxSketchBins: 4096,
} as const;

/** DDSketch relative accuracy: quantiles are within 1% of the true value. */
export const SKETCH_RELATIVE_ACCURACY = 0.01;
