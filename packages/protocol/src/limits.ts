/** Protocol version of the JSON control messages and of pull-chunk frames. Bump only with a golden-vector set for the new version. */
export const PROTOCOL_VERSION = 1;
/**
 * Version of batch frames: 2 added sparse sketch bins and references to earlier batches; 3 writes
 * time columns over their common factor and integers rounded to a few digits as mantissa x 10^e
 * (values at a coarser resolution cost fewer bytes); 4 lists references as distances from the
 * batch's own seq with one CRC over them all (the body is v3's). Encoders
 * write the latest; decoders read every version in BATCH_FRAME_VERSIONS, so collectors can be
 * upgraded after the ingesters.
 */
export const BATCH_FRAME_VERSION = 4;
export const BATCH_FRAME_VERSIONS: readonly number[] = [1, 2, 3, 4];

/** The body layout a batch frame version carries: v4 changed only the frame head, its body is v3's. */
export const batchBodyVersion = (frameVersion: number): number => Math.min(frameVersion, 3);

/**
 * Size limits both sides enforce. The ingester checks the compressed size before it decompresses
 * and bounds the decompressed output itself (never trusting the zstd header), so a decompression
 * bomb costs it at most maxBatchDecodedBytes.
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
  maxTemplateParams: 256,
  maxSketchBins: 4096,
  /** Other batches (usually earlier ones) one batch frame may be compressed against (frame v2+). */
  maxBatchReferences: 16,
  /**
   * Timestamps are epoch ms in [0, 2^47] (up to the year 6429). The bound keeps every delta
   * between two timestamps a safe integer after zigzag encoding.
   */
  maxTimestampMs: 2 ** 47,
} as const;

/**
 * A template row may leave its text out ('') when a batch carrying that text for the same
 * (container, id), with a lastSeen at most this much earlier, was acknowledged: the sender repeats
 * a text at least this often, and the ingester looks back this far for the text of a row that
 * left it out, which it fills in before storing the row.
 */
export const TEMPLATE_TEXT_LOOKBACK_MS = 3_600_000;

/** DDSketch relative accuracy: quantiles are within 1% of the true value. */
export const SKETCH_RELATIVE_ACCURACY = 0.01;
