/**
 * Version of the JSON control messages (`v`) and of pull-chunk frames (the header's version byte).
 * One version until the first release, as for batch frames.
 */
export const PROTOCOL_VERSION = 1;
/**
 * Version of batch frames (the header's version byte). Nothing has been released, so there is one:
 * a frame of any other version is refused with ET_ERR_UNSUPPORTED_VERSION before anything is
 * decompressed. After a release, a change to the frame or body adds version 2 the way this one is
 * held: its golden vectors in golden/v2 beside v1's, which must keep decoding, and the decoders
 * reading both until every collector writes 2 (collectors are upgraded after the ingesters).
 */
export const BATCH_FRAME_VERSION = 1;

/** Layout version of a remote configuration document; a node lists the versions it reads in its capabilities (`config`). */
export const CONFIG_DOC_VERSION = 1;

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
  /** A remote configuration document once decompressed (its command is a control message: 64 KiB on the wire). */
  maxConfigDocBytes: 256 * 1024,
  maxStringBytes: 64 * 1024,
  maxItemsPerSection: 200_000,
  maxMapEntries: 256,
  maxTemplateSamples: 16,
  maxTemplateParams: 256,
  /** Template ids one template row may say were merged into it. */
  maxTemplateMerged: 256,
  maxSketchBins: 4096,
  /** Distinct error descriptions and exemplar trace ids per span summary row. */
  maxSpanErrors: 8,
  maxSpanExemplars: 8,
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
