import type { Batch } from '../types/batch.js';
import { ProtocolError, type Result } from '../errors/errors.js';
import { limits } from '../limits.js';
import { createZstd } from '../wire/zstd.js';
import { FRAME_HEADER_BYTES, FrameFlags, MessageKind, readFrameHeader, writeFrameHeader } from '../wire/frame.js';
import { validateBatch } from '../validate/batch.js';
import { readBatchBody, writeBatchBody } from './batch-body.js';
import { resolveCodecOptions, type CodecOptions } from './options.js';

export interface BatchCodec {
  /**
   * Frame header + zstd(batch body). Throws ProtocolError for a batch the receiver would refuse:
   * ET_ERR_INVALID_FIELD (unless validateOnEncode is off), or ET_ERR_TOO_LARGE /
   * ET_ERR_DECOMPRESSED_TOO_LARGE when it exceeds the limits (the sender must split it).
   */
  encode(batch: Batch): Buffer;
  /** `topicNode`: the node id from the topic the bytes arrived on; a different id in the batch is rejected. Never throws. */
  decode(bytes: Uint8Array, topicNode?: string): Result<Batch>;
}

/**
 * The batch codec. Holds one zstd compression and decompression context for its lifetime (they
 * cost far more to create than a small batch costs to compress); one codec per thread of use.
 */
export function createBatchCodec(opts: Partial<CodecOptions> = {}): BatchCodec {
  const o = resolveCodecOptions(opts);
  const zstd = createZstd({ level: o.level, dictionary: o.dictionary });
  const flags = zstd.hasDictionary ? FrameFlags.dictionary : 0;

  return {
    encode(batch) {
      if (o.validateOnEncode) {
        const v = validateBatch(batch);
        if (!v.ok) throw v.error;
      }
      const body = writeBatchBody(batch);
      if (body.length > limits.maxBatchDecodedBytes) throw new ProtocolError('ET_ERR_DECOMPRESSED_TOO_LARGE', `batch body: ${body.length} bytes, limit ${limits.maxBatchDecodedBytes}`);
      const out = Buffer.concat([writeFrameHeader(MessageKind.batch, flags), zstd.compress(body)]);
      if (out.length > limits.maxBatchWireBytes) throw new ProtocolError('ET_ERR_TOO_LARGE', `batch: ${out.length} bytes, limit ${limits.maxBatchWireBytes}`);
      return out;
    },
    decode(bytes, topicNode) {
      if (bytes.length > limits.maxBatchWireBytes) return fail('ET_ERR_TOO_LARGE', `batch: ${bytes.length} bytes, limit ${limits.maxBatchWireBytes}`);
      const header = readFrameHeader(bytes, MessageKind.batch);
      if (!header.ok) return header;
      const body = zstd.decompress(bytes.subarray(FRAME_HEADER_BYTES), limits.maxBatchDecodedBytes, (header.value & FrameFlags.dictionary) !== 0);
      if (!body.ok) return body;
      let batch: Batch;
      try {
        batch = readBatchBody(body.value);
      } catch (err) {
        if (err instanceof ProtocolError) return { ok: false, error: err };
        return fail('ET_ERR_INVALID_FIELD', `batch: ${err instanceof Error ? err.message : String(err)}`);
      }
      const valid = validateBatch(batch);
      if (!valid.ok) return valid;
      if (topicNode !== undefined && batch.node !== topicNode) return fail('ET_ERR_NODE_MISMATCH', `node: ${JSON.stringify(batch.node)} in the batch, ${JSON.stringify(topicNode)} in the topic`);
      return valid;
    },
  };
}

function fail(code: ProtocolError['code'], detail: string): Result<Batch> {
  return { ok: false, error: new ProtocolError(code, detail) };
}
